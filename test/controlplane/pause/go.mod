// The Pod sandbox ("pause") process for the test node. Upstream's pause image comes from a registry,
// which the build machines cannot reach, so the node builds this equivalent from source.
module pt-operator.test/pause

go 1.26
