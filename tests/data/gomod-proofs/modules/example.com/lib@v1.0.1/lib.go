package lib

import "example.com/util"

// Describe says which util it was built with (fixed).
func Describe() string { return "lib v1.0.1 with util " + util.Version }
