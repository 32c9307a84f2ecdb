// Package server holds the Echo strict-server interface and the embedded
// OpenAPI document generated from openapi.yaml; internal/httpapi implements
// it. Do not edit the generated files: change openapi.yaml and run
// `make generate`.
package server

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml

// The contract is served byte for byte as written (SDK generators read
// it); go:embed cannot reach ../../openapi.yaml, so generate copies it here
// and `make verify` fails when the copy is stale.
//go:generate cp ../../openapi.yaml openapi.yaml
