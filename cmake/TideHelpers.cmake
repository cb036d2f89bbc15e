# Warnings and sanitizers for tide's own targets (not for third-party code).
set(TIDE_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
if(TIDE_SANITIZE)
  add_compile_options(-fsanitize=${TIDE_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${TIDE_SANITIZE})
  if(TIDE_SANITIZE MATCHES "thread")
    # Debian's protobuf is not built with TSan, and protobuf's headers give
    # MapFieldBase two more members when __SANITIZE_THREAD__ is defined: code
    # compiled with it reads the library's objects with the wrong layout
    # (a SEGV in core_test). The headers must see what the library was built with.
    add_compile_options(-U__SANITIZE_THREAD__)
    # Debian's Abseil is not built with TSan: tell TSan what absl::Mutex,
    # CondVar and Notification do (cmake/sanitize/absl_tsan_annotations.cc).
    add_library(tide_absl_tsan OBJECT ${PROJECT_SOURCE_DIR}/cmake/sanitize/absl_tsan_annotations.cc)
    target_link_libraries(tide_absl_tsan PUBLIC absl::synchronization ${CMAKE_DL_LIBS})
    # Into executables only: linked into every static library, the object
    # went into each archive and two whole-archived ones (libtide_core,
    # libtide_model_config_proto) defined Mutex::Lock twice in `tide`.
    link_libraries($<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:tide_absl_tsan>)
  endif()
endif()

# Fuzzing builds instrument all of tide's code for coverage and sanitizers,
# not just the fuzz targets, so libFuzzer sees inside the code under test.
if(TIDE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# tide_test_timeout(TEST SECONDS): the test's ctest timeout, scaled in
# sanitizer builds, where instrumented code runs several times slower
# (http_test took 118 s of its 120 under ASan + UBSan).
set(TIDE_TEST_TIMEOUT_SCALE 1)
if(TIDE_SANITIZE)
  set(TIDE_TEST_TIMEOUT_SCALE 5)
endif()
function(tide_test_timeout test seconds)
  math(EXPR scaled "${seconds} * ${TIDE_TEST_TIMEOUT_SCALE}")
  set_tests_properties(${test} PROPERTIES TIMEOUT ${scaled})
endfunction()

# tide_library(NAME SRCS ... DEPS ...): one CMake library per module folder.
function(tide_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${TIDE_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# tide_test(NAME SRCS ... DEPS ... [LABELS ...]): a GoogleTest binary run by ctest.
function(tide_test name)
  if(NOT TIDE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_compile_options(${name} PRIVATE ${TIDE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  tide_test_timeout(${name} ${ARG_TIMEOUT})
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
