// The statevector: one 64-byte-aligned buffer of 2^n complex amplitudes, owned here.
#pragma once

#include <complex>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include "parallel.h"

namespace svsim {

template <typename T>
class StateVector {
 public:
  using complex_t = std::complex<T>;

  StateVector(unsigned num_qubits, const Parallelism& par) : num_qubits_(num_qubits) {
    if (num_qubits >= 8 * sizeof(index_t) - 6) {
      throw std::invalid_argument("too many qubits for a statevector: " + std::to_string(num_qubits));
    }
    size_ = index_t{1} << num_qubits;
    const std::size_t bytes = ((size_ * sizeof(complex_t) + 63) / 64) * 64;
    data_ = static_cast<complex_t*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
    set_zero_state(par);
  }
  StateVector(const StateVector&) = delete;
  StateVector& operator=(const StateVector&) = delete;
  ~StateVector() { std::free(data_); }

  unsigned num_qubits() const { return num_qubits_; }
  index_t size() const { return size_; }
  complex_t* data() { return data_; }
  const complex_t* data() const { return data_; }
  complex_t& operator[](index_t i) { return data_[i]; }
  const complex_t& operator[](index_t i) const { return data_[i]; }

  // Written in parallel so that each thread first touches the pages it will use.
  void set_zero_state(const Parallelism& par) {
    parallel_for(par, size_, [this](index_t i) { data_[i] = complex_t(0); });
    data_[0] = complex_t(1);
  }

  void copy_from(const StateVector& other, const Parallelism& par) {
    if (other.size_ != size_) throw std::invalid_argument("state sizes differ");
    const complex_t* source = other.data_;
    parallel_for(par, size_, [this, source](index_t i) { data_[i] = source[i]; });
  }

 private:
  unsigned num_qubits_;
  index_t size_ = 0;
  complex_t* data_ = nullptr;
};

}  // namespace svsim
