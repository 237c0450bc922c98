module example.com/lib

go 1.17

require example.com/util v1.2.0
