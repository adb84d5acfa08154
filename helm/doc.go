// Package helm holds the tests of the SK MALL Helm chart (helm/skmall) and of the plain
// manifests rendered from it (k8s/).
package helm
