// Reference N-subjettiness from fastjet-contrib, used by test_jets.py.
// Reads jets from stdin: a line "n" then n lines "px py pz E"; prints "tau1 tau2 tau3" per jet.
#include <iostream>
#include <vector>
#include "fastjet/ClusterSequence.hh"
#include "fastjet/PseudoJet.hh"
#include "fastjet/contrib/Nsubjettiness.hh"

int main() {
  using namespace fastjet::contrib;
  fastjet::ClusterSequence::set_fastjet_banner_stream(nullptr);
  std::cout.precision(17);
  int n;
  while (std::cin >> n) {
    std::vector<fastjet::PseudoJet> particles;
    for (int i = 0; i < n; ++i) {
      double px, py, pz, e;
      std::cin >> px >> py >> pz >> e;
      particles.emplace_back(px, py, pz, e);
    }
    fastjet::PseudoJet jet = fastjet::join(particles);
    for (int k = 1; k <= 3; ++k) {
      Nsubjettiness tau(k, KT_Axes(), UnnormalizedMeasure(1.0));
      std::cout << tau(jet) << (k < 3 ? " " : "\n");
    }
  }
  return 0;
}
