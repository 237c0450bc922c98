package upper

// Name is the module name.
const Name = "Upper"
