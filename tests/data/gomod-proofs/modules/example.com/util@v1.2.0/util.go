package util

// Version is this release.
const Version = "v1.2.0"
