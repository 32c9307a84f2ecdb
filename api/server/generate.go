// Package server holds the Echo strict-server interface and the embedded
// OpenAPI document generated from openapi.yaml; internal/httpapi implements
// it. Do not edit the generated files: change openapi.yaml and run
// `make generate`.
package server

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml
