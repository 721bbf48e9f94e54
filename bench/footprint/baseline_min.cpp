// Footprint baseline: a C++ program that only formats a std::string (the fixed cost of any program).
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  std::string s = argc > 1 ? argv[1] : "footprint";
  std::printf("%s %d\n", s.c_str(), argc);
  return 0;
}
