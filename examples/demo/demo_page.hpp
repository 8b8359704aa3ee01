// The demo's single page: HTML and JavaScript, no external assets.
#pragma once

#include <string_view>

namespace ws::examples {

std::string_view demo_page_html();

}  // namespace ws::examples
