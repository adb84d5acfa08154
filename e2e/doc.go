// Package e2e runs the whole shop — four apps beside real daprd sidecars, on real stores and a
// real broker — and checks the scenario and the invariants of the design against it.
//
// Every test but the benchmark runs beside others (t.Parallel; go test runs as many at once as
// -parallel, by default the number of CPUs): each shop has its own ports, Redis, databases,
// RabbitMQ vhost, Kafka stand-in, log folder, and the name resolution file its sidecars find
// each other in (TestShopsOnOneMachineStayApart). The benchmark runs first and alone, since it
// measures the machine. TestCluster runs on its own too (make test-cluster).
package e2e
