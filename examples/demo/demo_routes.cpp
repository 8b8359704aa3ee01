#include "demo/demo_routes.hpp"

#include "demo/channel_name.hpp"
#include "demo/demo_page.hpp"

namespace ws::examples {

namespace {
std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }
}  // namespace

DemoHttpAnswer answer_plain_http(std::string_view method, std::string_view target) {
  if (method == "GET" && path_of(target) == "/") {
    return {200, std::string(demo_page_html()), {{"Content-Type", "text/html; charset=utf-8"}}};
  }
  return {404, "not found\n", {{"Content-Type", "text/plain"}}};
}

DemoRoute route_upgrade(std::string_view target) {
  DemoRoute route;
  if (path_of(target) == "/echo") {
    route.kind = DemoRoute::Kind::echo;
  } else if (std::optional<std::string> channel = channel_from_target(target)) {
    route.kind = DemoRoute::Kind::channel;
    route.channel = std::move(*channel);
  } else {
    route.refusal = {400,
                     "a channel is /channel/<name>: 1-64 letters, digits, '.', '_' or '-'\n",
                     {{"Content-Type", "text/plain"}}};
  }
  return route;
}

}  // namespace ws::examples
