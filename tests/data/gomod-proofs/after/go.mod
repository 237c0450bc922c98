module example.com/app

go 1.19

require (
	example.com/Upper v0.1.0
	example.com/lib v1.0.1 // pinned for the release
)

require example.com/util v1.2.0 // indirect
