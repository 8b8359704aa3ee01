// Names the instances of a test parameterised by a pipe's cut size
// ("cut_7", "no_cut"), shared by the memory adapter tests.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "ws/memory/duplex_pipe.hpp"

namespace ws::test {

inline std::string cut_size_name(const ::testing::TestParamInfo<std::size_t>& param) {
  return param.param == memory::no_cut ? std::string("no_cut")
                                       : "cut_" + std::to_string(param.param);
}

}  // namespace ws::test
