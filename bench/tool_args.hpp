// What bench's two C++ helpers share: dying with a message, reading options.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace bench {

inline const char* program_name = "bench";

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_name, what.c_str());
  std::exit(1);
}

// Calls on_option(name, value) for each argument; value() takes the next
// argument as the option's value, dying if there is none.
template <class F> void for_each_option(int argc, char** argv, F&& on_option) {
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(name + " needs a value");
      return argv[++i];
    };
    on_option(name, value);
  }
}

}  // namespace bench
