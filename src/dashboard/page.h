#pragma once

// The dashboard page: one self-contained HTML file (dashboard.html: inline
// CSS, plain JS drawing SVG charts; no CDN, fonts or other requests) compiled
// into the binary. The same page is
//   - served live by `tide up` on its metrics port (GET /), where it polls the
//     fleet's JSON endpoints (/api/timeline, /api/events, /api/status) every
//     second, and
//   - written as report.html by `tide up --report` and `tide sim --report`,
//     with a whole run's data embedded (PageWithData): then it polls nothing.
// Pure: no I/O, no state.

#include <string>
#include <string_view>

namespace tide::dashboard {

// dashboard.html's bytes, as built.
std::string_view DashboardPage();

// The page with `json` (a JSON value: {"kind":"up",...} or {"kind":"sim",...},
// see dashboard.html) embedded in place of its data marker, escaped so that no
// "</script" or "<!--" in the data can end the script element early.
std::string PageWithData(std::string_view json);

}  // namespace tide::dashboard
