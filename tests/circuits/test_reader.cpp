#include <doctest/doctest.h>

#include "circuits/loader.hpp"
