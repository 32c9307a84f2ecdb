package httpapi

import (
	"context"
	"time"

	oapimw "github.com/oapi-codegen/echo-middleware"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/auth"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/ratelimit"
)

// client describes the caller for session records; the Echo context is in
// ctx because the strict handler passes the request's context through.
func client(ctx context.Context) auth.Client {
	c := oapimw.GetEchoContext(ctx)
	if c == nil {
		return auth.Client{}
	}
	return auth.Client{UserAgent: c.Request().UserAgent(), IP: c.RealIP()}
}

// limitEmail spends the per-address budget of signup and login, so one
// address cannot be hammered from many IPs.
func (s *Server) limitEmail(ctx context.Context, email string) error {
	res, err := s.limiter.Allow(ctx, "email:"+auth.NormalizeEmail(email), ratelimit.PerMinute(s.limits.AuthEmailPerMinute))
	if err != nil {
		return err
	}
	if !res.Allowed {
		return fault.RateLimited("too many attempts for this email address; wait a moment", res.RetryAfterSeconds())
	}
	return nil
}

// Signup implements POST /v1/auth/signup.
func (s *Server) Signup(ctx context.Context, req server.SignupRequestObject) (server.SignupResponseObject, error) {
	b := req.Body
	if err := s.limitEmail(ctx, string(b.Email)); err != nil {
		return nil, err
	}
	sess, err := s.auth.Signup(ctx, auth.SignupInput{Email: string(b.Email), Password: b.Password, FullName: b.FullName, OrgName: b.OrgName}, client(ctx))
	if err != nil {
		return nil, err
	}
	return server.Signup201JSONResponse(toAPISession(sess)), nil
}

// DefaultAuthEmailFailuresPerHour is Limits.AuthEmailFailuresPerHour when
// that is 0.
const DefaultAuthEmailFailuresPerHour = 100

// Login implements POST /v1/auth/login. Only wrong passwords spend budgets,
// so a stranger cannot keep an owner out, and guessing stays bounded:
//
//   - per (email, client IP): AuthEmailPerMinute wrong passwords a minute;
//     past it that pair is refused (429) before the password is checked.
//   - per email, across all IPs: AuthEmailFailuresPerHour wrong passwords
//     an hour (GCRA: a full bucket, then one every hour/N). Past this
//     ceiling the password is still checked, so the owner's correct one
//     signs in, and a wrong one answers 429. That is an oracle: a guess
//     past the ceiling still learns right or wrong. So past the ceiling
//     each (email, IP) pair also spends a slow budget of
//     AuthEmailPerMinute wrong passwords an hour, refused before checking
//     once spent.
//   - per client IP: every public request spends AuthIPPerMinute
//     (rateLimit), whatever the email.
//
// Hence, with the defaults (5, 100, 20): at most 100 + 100 = 200 wrong
// passwords are checked for one email in any hour while under the ceiling,
// plus at most 5 + 5 = 10 an hour from each client IP past it: N <= 200 +
// 10k guesses per email per hour for an attacker with k IP addresses
// (sustained: 100 + 5k), and one IP alone gets at most 210. The per-IP
// terms are the price of not locking the owner out: only their own IP's
// wrong passwords (a shared NAT) can refuse them. Checks are
// peek-then-spend, so concurrent guesses can overshoot a budget by the
// requests in flight, which the per-IP budget keeps small. Every budget
// fails closed when Redis is down (they are the brute-force guard). The
// budgets are spent alike for known and unknown emails, so they leak
// nothing about which exist.
func (s *Server) Login(ctx context.Context, req server.LoginRequestObject) (server.LoginResponseObject, error) {
	b := req.Body
	email := auth.NormalizeEmail(string(b.Email))
	ip := ""
	if c := oapimw.GetEchoContext(ctx); c != nil {
		ip = c.RealIP()
	}
	ceiling := s.limits.AuthEmailFailuresPerHour
	if ceiling <= 0 {
		ceiling = DefaultAuthEmailFailuresPerHour
	}
	type budget struct {
		key string
		lim ratelimit.Limit
	}
	var (
		pair    = budget{"loginfail:pair:" + email + "|" + ip, ratelimit.PerMinute(s.limits.AuthEmailPerMinute).WithPolicy(ratelimit.FailClosed)}
		slow    = budget{"loginfail:slow:" + email + "|" + ip, ratelimit.PerHour(s.limits.AuthEmailPerMinute).WithPolicy(ratelimit.FailClosed)}
		byEmail = budget{"loginfail:email:" + email, ratelimit.PerHour(ceiling).WithPolicy(ratelimit.FailClosed)}
	)
	refused := func(res ratelimit.Result) error {
		return fault.RateLimited("too many failed sign-ins for this email address; wait a moment", res.RetryAfterSeconds())
	}
	emailRes, err := s.limiter.Peek(ctx, byEmail.key, byEmail.lim)
	if err != nil {
		return nil, err
	}
	overCeiling := !emailRes.Allowed
	check, spend := []budget{pair}, []budget{pair, byEmail}
	if overCeiling {
		check, spend = []budget{slow, pair}, append(spend, slow)
	}
	for _, c := range check {
		if res, err := s.limiter.Peek(ctx, c.key, c.lim); err != nil {
			return nil, err
		} else if !res.Allowed {
			return nil, refused(res)
		}
	}
	sess, err := s.auth.Login(ctx, string(b.Email), b.Password, b.OrgID, client(ctx))
	if err != nil {
		if !fault.IsKind(err, fault.KindUnauthorized) {
			return nil, err
		}
		for _, sp := range spend {
			if _, lerr := s.limiter.Allow(ctx, sp.key, sp.lim); lerr != nil {
				return nil, lerr
			}
		}
		if overCeiling {
			return nil, refused(emailRes)
		}
		return nil, err
	}
	return server.Login200JSONResponse(toAPISession(sess)), nil
}

// RefreshSession implements POST /v1/auth/refresh.
func (s *Server) RefreshSession(ctx context.Context, req server.RefreshSessionRequestObject) (server.RefreshSessionResponseObject, error) {
	sess, err := s.auth.Refresh(ctx, req.Body.RefreshToken, client(ctx))
	if err != nil {
		return nil, err
	}
	return server.RefreshSession200JSONResponse(toAPISession(sess)), nil
}

// Logout implements POST /v1/auth/logout.
func (s *Server) Logout(ctx context.Context, req server.LogoutRequestObject) (server.LogoutResponseObject, error) {
	if err := s.auth.Logout(ctx, req.Body.RefreshToken); err != nil {
		return nil, err
	}
	return server.Logout204Response{}, nil
}

// AcceptInvite implements POST /v1/auth/accept-invite.
func (s *Server) AcceptInvite(ctx context.Context, req server.AcceptInviteRequestObject) (server.AcceptInviteResponseObject, error) {
	b := req.Body
	name := ""
	if b.FullName != nil {
		name = *b.FullName
	}
	sess, err := s.auth.AcceptInvite(ctx, b.Token, b.Password, name, client(ctx))
	if err != nil {
		return nil, err
	}
	return server.AcceptInvite200JSONResponse(toAPISession(sess)), nil
}

// principal returns the authenticated caller; the middleware guarantees one
// on every non-public route.
func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return auth.Principal{}, fault.Unauthorized("unauthenticated", "authentication required")
	}
	return p, nil
}

// GetMe implements GET /v1/me.
func (s *Server) GetMe(ctx context.Context, _ server.GetMeRequestObject) (server.GetMeResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.auth.Me(ctx, p)
	if err != nil {
		return nil, err
	}
	me := api.Me{PrincipalType: api.MePrincipalType(p.Type), Role: api.Role(p.Role), Organization: toAPIOrganization(m.Org)}
	if m.APIKey != nil {
		ak := toAPIKey(*m.APIKey)
		me.APIKey = &ak
	}
	if m.User != nil {
		au := toAPIUser(*m.User)
		me.User = &au
		sum := make([]api.MembershipSummary, len(m.Memberships))
		for i, ms := range m.Memberships {
			sum[i] = api.MembershipSummary{OrgID: ms.OrgID, Role: api.Role(ms.Role)}
		}
		me.Memberships = &sum
	}
	return server.GetMe200JSONResponse(me), nil
}

// Mail budgets: each request below mails someone, so each is capped per
// recipient on top of the per-IP budget of public operations.
var (
	resendVerificationLimit = ratelimit.Limit{Rate: 3, Burst: 3, Period: time.Hour}
	passwordResetLimit      = ratelimit.Limit{Rate: 3, Burst: 3, Period: time.Hour}
)

// VerifyEmail implements POST /v1/auth/verify-email.
func (s *Server) VerifyEmail(ctx context.Context, req server.VerifyEmailRequestObject) (server.VerifyEmailResponseObject, error) {
	if err := s.auth.VerifyEmail(ctx, req.Body.Token); err != nil {
		return nil, err
	}
	return server.VerifyEmail204Response{}, nil
}

// ResendVerification implements POST /v1/auth/resend-verification.
func (s *Server) ResendVerification(ctx context.Context, _ server.ResendVerificationRequestObject) (server.ResendVerificationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if p.Type == auth.PrincipalUser {
		res, err := s.limiter.Allow(ctx, "verify-mail:"+p.UserID.String(), resendVerificationLimit)
		if err != nil {
			return nil, err
		}
		if !res.Allowed {
			return nil, fault.RateLimited("a verification mail was sent several times in the last hour; check your inbox and spam folder", res.RetryAfterSeconds())
		}
	}
	if err := s.auth.ResendVerification(ctx, p); err != nil {
		return nil, err
	}
	return server.ResendVerification204Response{}, nil
}

// RequestPasswordReset implements POST /v1/auth/password-reset/request:
// the same 202 for every address, known or not.
func (s *Server) RequestPasswordReset(ctx context.Context, req server.RequestPasswordResetRequestObject) (server.RequestPasswordResetResponseObject, error) {
	email := string(req.Body.Email)
	res, err := s.limiter.Allow(ctx, "reset-mail:"+auth.NormalizeEmail(email), passwordResetLimit)
	if err != nil {
		return nil, err
	}
	if !res.Allowed {
		return nil, fault.RateLimited("several reset links were requested for this address in the last hour; check the inbox and spam folder", res.RetryAfterSeconds())
	}
	s.auth.RequestPasswordReset(ctx, email)
	return server.RequestPasswordReset202JSONResponse{Detail: auth.PasswordResetRequested}, nil
}

// ConfirmPasswordReset implements POST /v1/auth/password-reset/confirm.
func (s *Server) ConfirmPasswordReset(ctx context.Context, req server.ConfirmPasswordResetRequestObject) (server.ConfirmPasswordResetResponseObject, error) {
	if err := s.auth.ConfirmPasswordReset(ctx, req.Body.Token, req.Body.Password); err != nil {
		return nil, err
	}
	return server.ConfirmPasswordReset204Response{}, nil
}
