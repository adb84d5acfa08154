// Package e2e runs the whole shop — four apps beside real daprd sidecars, on real stores and a
// real broker — and checks the scenario and the invariants of the design against it.
package e2e
