# Every third-party dependency is found here, once; modules link the imported
# targets. All come from Debian 12 packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)          # Beast/Asio, header-only
find_package(Protobuf REQUIRED)            # CMake's FindProtobuf: Debian ships no protobuf-config.cmake
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SIMDJSON REQUIRED IMPORTED_TARGET simdjson)
if(TIDE_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(TIDE_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
if(TIDE_WITH_TORCH)
  # Debian's libtorch 1.13.1 (libtorch-dev): TORCH_LIBRARIES, the `torch` target.
  find_package(Torch REQUIRED)
endif()
