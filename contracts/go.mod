module github.com/skmall/skmall/contracts

go 1.26.0

require (
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.2
	google.golang.org/grpc v1.73.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.38.0 // indirect
	golang.org/x/sys v0.31.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250324211829-b45e905df463 // indirect
)
