// Package api holds the types and the typed Go client generated from
// openapi.yaml; integrators import it to call LeadPilot. Do not edit the
// generated files: change openapi.yaml and run `make generate`.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
