package httpapi

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// OperatorOnly guards routes outside the contract that are for operators
// (/metrics, the development mail catcher): with a token configured, the
// caller must send it as `Authorization: Bearer <token>`; without one, only
// a client on this machine (loopback, judged by the TCP peer itself, never
// by X-Forwarded-For) gets through. Anyone else gets a 404 problem, so the
// route is not advertised.
func OperatorOnly(token string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token != "" {
				scheme, cred, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
				if strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare([]byte(cred), []byte(token)) == 1 {
					return next(c)
				}
				return notHere()
			}
			if isLoopback(c.Request()) {
				return next(c)
			}
			return notHere()
		}
	}
}

func notHere() error { return echo.NewHTTPError(http.StatusNotFound) }

func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
