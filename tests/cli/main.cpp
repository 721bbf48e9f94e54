#include "../support/doctest_main.hpp"
