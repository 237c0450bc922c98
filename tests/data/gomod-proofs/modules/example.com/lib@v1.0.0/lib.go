package lib

import "example.com/util"

// Describe says which util it was built with.
func Describe() string { return "lib v1.0.0 with util " + util.Version }
