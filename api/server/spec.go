package server

import _ "embed"

// SpecYAML is openapi.yaml exactly as it is in the repository.
//
//go:embed openapi.yaml
var SpecYAML []byte
