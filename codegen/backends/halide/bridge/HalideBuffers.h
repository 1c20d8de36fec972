// \file
// halide_buffer_t over caller memory, for the families' Halide bridges
// (codegen/<family>/bridge/*Halide*.cpp).
#pragma once

#include <HalideRuntime.h>

namespace kf::bridge::halide {

// A buffer over caller memory (dims: min, extent, stride, flags per dimension).
halide_buffer_t makeBuffer(const void *host, halide_type_t type, halide_dimension_t *dims, int rank);

}  // namespace kf::bridge::halide
