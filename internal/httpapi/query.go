package httpapi

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// commaLists lets an array query parameter that openapi.yaml marks
// `x-comma-separated: true` be written either repeated (?type=a&type=b,
// what the generated clients send) or as one comma-separated value
// (?type=a,b, what people and polling tools write): values are split at
// commas before the request is validated and bound, so the validator
// checks each item against the items' schema.
func commaLists(spec *openapi3.T) echo.MiddlewareFunc {
	lists := map[string][]string{} // "METHOD /echo/path" → parameter names
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range append(item.Parameters, op.Parameters...) {
				if v := p.Value; v != nil && v.In == openapi3.ParameterInQuery && v.Extensions["x-comma-separated"] == true {
					key := method + " " + echoPath(path)
					lists[key] = append(lists[key], v.Name)
				}
			}
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			names := lists[operationKey(c)]
			if len(names) == 0 {
				return next(c)
			}
			u := c.Request().URL
			q := u.Query()
			changed := false
			for _, name := range names {
				vs, ok := q[name]
				if !ok {
					continue
				}
				var out []string
				for _, v := range vs {
					for _, part := range strings.Split(v, ",") {
						if part = strings.TrimSpace(part); part != "" {
							out = append(out, part)
						}
					}
				}
				if len(out) != len(vs) || strings.Join(out, ",") != strings.Join(vs, ",") {
					q[name], changed = out, true
				}
			}
			if changed {
				u.RawQuery = q.Encode()
			}
			return next(c)
		}
	}
}
