package main

import (
	"fmt"

	upper "example.com/Upper"
	"example.com/lib"
)

func main() { fmt.Println(upper.Name, lib.Describe()) }
