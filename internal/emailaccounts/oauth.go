package emailaccounts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/oauth2"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// OAuthProvider is one OAuth 2.0 client (Google or Microsoft). The URLs
// come from configuration so tests point them at a local fake; config
// fills in the providers' real ones by default.
type OAuthProvider struct {
	ClientID     string
	ClientSecret string
	// AuthURL and TokenURL are the authorization and token endpoints.
	AuthURL  string
	TokenURL string
	// UserInfoURL answers the signed-in user's address when the token
	// response has no id_token with one: Google's OpenID userinfo
	// ({"email": …}) or Microsoft Graph /me ({"mail": …,
	// "userPrincipalName": …}).
	UserInfoURL string
	// RedirectURL is our callback, PUBLIC_URL +
	// /v1/email-accounts/oauth/{provider}/callback.
	RedirectURL string
	Scopes      []string
}

// Configured reports whether the provider has a client.
func (p OAuthProvider) Configured() bool {
	return p.ClientID != "" && p.AuthURL != "" && p.TokenURL != ""
}

// The providers' endpoints and the scopes mail needs: Gmail's
// https://mail.google.com/ covers SMTP and IMAP with XOAUTH2; Outlook needs
// SMTP.Send and IMAP.AccessAsUser.All on outlook.office.com, and
// offline_access for a refresh token. openid + email put the address in the
// id_token.
var (
	GoogleEndpoints = OAuthProvider{
		AuthURL:     "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:    "https://oauth2.googleapis.com/token",
		UserInfoURL: "https://openidconnect.googleapis.com/v1/userinfo",
		Scopes:      []string{"openid", "email", "https://mail.google.com/"},
	}
	MicrosoftEndpoints = OAuthProvider{
		AuthURL:     "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
		TokenURL:    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
		UserInfoURL: "https://graph.microsoft.com/v1.0/me",
		Scopes: []string{"openid", "email", "offline_access",
			"https://outlook.office.com/SMTP.Send", "https://outlook.office.com/IMAP.AccessAsUser.All"},
	}
)

// StateTTL is how long an authorize URL's state is accepted.
const StateTTL = 10 * time.Minute

// refreshMargin: an access token this close to expiry is refreshed before
// use, so it cannot expire in the middle of an SMTP session.
const refreshMargin = 5 * time.Minute

func (s *Service) provider(name string) (OAuthProvider, error) {
	var p OAuthProvider
	switch name {
	case ProviderGmail:
		p = s.o.Google
	case ProviderOutlook:
		p = s.o.Microsoft
	default:
		return p, fault.NotFound("OAuth provider")
	}
	if !p.Configured() {
		env := "GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET"
		if name == ProviderOutlook {
			env = "MICROSOFT_OAUTH_CLIENT_ID and MICROSOFT_OAUTH_CLIENT_SECRET"
		}
		return p, fault.Conflict("oauth_not_configured", "connecting "+name+" mailboxes is not configured on this server: the operator must set "+env)
	}
	return p, nil
}

func (p OAuthProvider) config() *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Scopes: p.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
}

// state is what the authorize URL's state parameter carries. It is sealed
// with the keyring (AES-GCM: authenticated like an HMAC, and also
// confidential, which the PKCE verifier inside must be), bound to the
// organisation, the user and the provider, and expires.
type state struct {
	Org      uuid.UUID `json:"o"`
	User     uuid.UUID `json:"u"`
	Provider string    `json:"p"`
	Verifier string    `json:"v"`
	Expires  int64     `json:"e"`
}

var stateAAD = secrets.AAD("email_accounts", "oauth_state", "")

// Authorization is where to send the user's browser.
type Authorization struct {
	URL       string
	State     string
	ExpiresAt time.Time
}

// Authorize starts connecting a gmail or outlook mailbox: the provider's
// authorize URL with a sealed state and a PKCE (S256) challenge.
func (s *Service) Authorize(ctx context.Context, a access.Actor, provider string) (Authorization, error) {
	if err := a.RequireAdmin("connect mailboxes"); err != nil {
		return Authorization{}, err
	}
	p, err := s.provider(provider)
	if err != nil {
		return Authorization{}, err
	}
	exp := s.now().Add(StateTTL)
	st := state{Org: a.OrgID, User: a.UserID, Provider: provider, Verifier: oauth2.GenerateVerifier(), Expires: exp.Unix()}
	b, err := json.Marshal(st)
	if err != nil {
		return Authorization{}, err
	}
	sealed, err := s.keyring.Encrypt(b, stateAAD)
	if err != nil {
		return Authorization{}, fmt.Errorf("emailaccounts: seal state: %w", err)
	}
	enc := base64.RawURLEncoding.EncodeToString([]byte(sealed))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier), oauth2.AccessTypeOffline}
	if provider == ProviderGmail {
		// Google returns a refresh token only on consent.
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
	}
	return Authorization{URL: p.config().AuthCodeURL(enc, opts...), State: enc, ExpiresAt: exp}, nil
}

func (s *Service) openState(provider, raw string) (state, error) {
	bad := fault.BadRequest("invalid_state", "the state is not one this server issued, or it was altered; start again from the authorize endpoint")
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return state{}, bad
	}
	b, err := s.keyring.Decrypt(string(sealed), stateAAD)
	if err != nil {
		return state{}, bad.WithCause(err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Org == uuid.Nil {
		return state{}, bad
	}
	if st.Provider != provider {
		return state{}, fault.BadRequest("invalid_state", "the state was issued for "+st.Provider+", not "+provider)
	}
	if s.now().Unix() > st.Expires {
		return state{}, fault.BadRequest("expired_state", "the authorization took longer than "+StateTTL.String()+"; start again from the authorize endpoint")
	}
	return st, nil
}

// Callback is the provider's redirect: code (or the provider's error) and
// state as the query gave them.
type Callback struct {
	Code, State, Error, ErrorDescription string
}

// CompleteOAuth verifies the state, exchanges the code, reads the
// mailbox's address and stores the account with its tokens sealed: a new
// account (email_account.created), or the organisation's account with
// that address given the new tokens (email_account.updated).
func (s *Service) CompleteOAuth(ctx context.Context, provider string, cb Callback) (Account, error) {
	p, err := s.provider(provider)
	if err != nil {
		return Account{}, err
	}
	st, err := s.openState(provider, cb.State)
	if err != nil {
		return Account{}, err
	}
	if cb.Error != "" {
		msg := "the provider refused the authorization (" + cb.Error + ")"
		if cb.ErrorDescription != "" {
			msg += ": " + cb.ErrorDescription
		}
		return Account{}, fault.Invalid(fault.FieldError{Field: "/error", Code: "authorization_refused", Message: msg})
	}
	if cb.Code == "" {
		return Account{}, fault.BadRequest("missing_code", "the callback carries neither a code nor an error")
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, s.o.HTTPClient)
	tok, err := p.config().Exchange(hctx, cb.Code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Account{}, providerFault("exchanging the authorization code", err)
	}
	if tok.RefreshToken == "" {
		return Account{}, fault.Invalid(fault.FieldError{Field: "/code", Code: "no_refresh_token",
			Message: "the provider issued no refresh token, so the mailbox could not be used after an hour; remove LeadPilot's access in the account's security settings and connect again"})
	}
	addr, err := s.mailboxAddress(hctx, p, tok)
	if err != nil {
		return Account{}, err
	}
	var f fault.Fields
	addr = checkAddress(&f, "/email", addr)
	if err := f.Err(); err != nil {
		return Account{}, err
	}
	var out Account
	err = s.db.InTenant(ctx, database.Tenant{OrgID: st.Org, UserID: st.User}, func(ctx context.Context, tx bun.IDB) error {
		var role string
		err := tx.NewRaw(`SELECT role FROM memberships WHERE org_id = ? AND user_id = ?`, st.Org, st.User).Scan(ctx, &role)
		if err != nil || !access.Role(role).AtLeastAdmin() {
			return fault.Forbidden("the user who started this connection is no longer an owner or admin of the organisation")
		}
		var r accountRow
		err = tx.NewSelect().Model(&r).Where("org_id = ? AND email_address = ?", st.Org, addr).For("UPDATE").Scan(ctx)
		switch err = database.Interpret(err); {
		case errors.Is(err, database.ErrNotFound):
			u := st.User
			r = accountRow{ID: uuid.Must(uuid.NewV7()), OrgID: st.Org, UserID: &u, EmailAddress: addr, Provider: provider,
				SMTPPort: 587, SMTPTLSMode: TLSStartTLS, IMAPPort: 993, IMAPTLSMode: TLSImplicit,
				DailySendLimit: DefaultDailySendLimit, WarmupEnabled: true, IsActive: true, ConnectionStatus: StatusPending}
			setProviderServers(&r)
			if err := s.sealTokens(&r, tok); err != nil {
				return err
			}
			out, err = s.insert(ctx, tx, &r)
			return err
		case err != nil:
			return fmt.Errorf("emailaccounts: oauth: %w", err)
		}
		if r.Provider != provider {
			return fault.Conflict("email_account_exists", "the organisation already has "+addr+" as a "+r.Provider+" account; delete it first to connect it with "+provider)
		}
		if err := s.sealTokens(&r, tok); err != nil {
			return err
		}
		r.ConnectionStatus, r.LastError, r.ErrorSource = StatusPending, nil, nil
		_, err = tx.NewUpdate().Model(&r).Column("oauth_access_token_encrypted", "oauth_refresh_token_encrypted", "oauth_token_expires_at",
			"connection_status", "last_error", "error_source").Where("org_id = ? AND id = ?", r.OrgID, r.ID).Returning("updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("emailaccounts: oauth: store tokens: %w", database.Interpret(err))
		}
		out, err = s.record(ctx, tx, events.EmailAccountUpdated, r)
		return err
	})
	return out, err
}

// setProviderServers fills in Gmail's and Outlook's SMTP and IMAP servers
// (XOAUTH2 on submission with STARTTLS, IMAPS).
func setProviderServers(r *accountRow) {
	smtp, imap := "smtp.gmail.com", "imap.gmail.com"
	if r.Provider == ProviderOutlook {
		smtp, imap = "smtp.office365.com", "outlook.office365.com"
	}
	r.SMTPHost, r.IMAPHost, r.Username = &smtp, &imap, &r.EmailAddress
}

func (s *Service) sealTokens(r *accountRow, tok *oauth2.Token) error {
	at, err := s.keyring.EncryptString(tok.AccessToken, accessTokenAAD(r.ID))
	if err != nil {
		return fmt.Errorf("emailaccounts: seal access token: %w", err)
	}
	r.AccessTokenCipher = &at
	if tok.RefreshToken != "" {
		rt, err := s.keyring.EncryptString(tok.RefreshToken, refreshTokenAAD(r.ID))
		if err != nil {
			return fmt.Errorf("emailaccounts: seal refresh token: %w", err)
		}
		r.RefreshTokenCipher = &rt
	}
	switch {
	case tok.ExpiresIn > 0:
		// Counted from our clock, which the refresh margin is judged by.
		e := s.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
		r.TokenExpiresAt = &e
	case !tok.Expiry.IsZero():
		e := tok.Expiry
		r.TokenExpiresAt = &e
	}
	return nil
}

// mailboxAddress is the address of the mailbox the token is for: the
// id_token's email claim when the token response has one (it came straight
// from the token endpoint over TLS, so OpenID Connect Core 3.1.3.7 lets us
// skip its signature), else the userinfo endpoint.
func (s *Service) mailboxAddress(ctx context.Context, p OAuthProvider, tok *oauth2.Token) (string, error) {
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		parts := strings.Split(raw, ".")
		if len(parts) == 3 {
			if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				var c struct {
					Email             string `json:"email"`
					PreferredUsername string `json:"preferred_username"`
				}
				if json.Unmarshal(b, &c) == nil {
					if c.Email != "" {
						return c.Email, nil
					}
					if strings.Contains(c.PreferredUsername, "@") {
						return c.PreferredUsername, nil
					}
				}
			}
		}
	}
	if p.UserInfoURL == "" {
		return "", fault.Unavailable("oauth_no_address", "the provider did not say which mailbox was connected", 0)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.UserInfoURL, nil)
	if err != nil {
		return "", fmt.Errorf("emailaccounts: userinfo: %w", err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	res, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return "", fault.Unavailable("oauth_provider_unreachable", "could not reach the provider to read the mailbox's address", 30).WithCause(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return "", fault.Unavailable("oauth_userinfo_failed", fmt.Sprintf("the provider answered %d when asked for the mailbox's address", res.StatusCode), 30)
	}
	var u struct {
		Email             string `json:"email"`
		Mail              string `json:"mail"`
		UserPrincipalName string `json:"userPrincipalName"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return "", fault.Unavailable("oauth_userinfo_failed", "the provider's answer about the mailbox was not JSON", 30)
	}
	for _, v := range []string{u.Email, u.Mail, u.UserPrincipalName} {
		if strings.Contains(v, "@") {
			return v, nil
		}
	}
	return "", fault.Unavailable("oauth_no_address", "the provider did not say which mailbox was connected", 0)
}

// providerFault turns a token endpoint failure into words: a refused code
// or refresh token (OAuth error invalid_grant and friends) is the caller's
// to fix; anything else is the provider being unavailable.
func providerFault(doing string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		msg := "the provider refused " + doing + " (" + re.ErrorCode + ")"
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		return fault.Invalid(fault.FieldError{Field: "/code", Code: "oauth_" + re.ErrorCode, Message: msg}).WithCause(err)
	}
	return fault.Unavailable("oauth_provider_unreachable", "the provider failed while "+doing+"; try again", 30).WithCause(err)
}

// AccessToken returns a valid access token of a gmail or outlook account
// for XOAUTH2, refreshing it first when it expires within refreshMargin
// and persisting what the refresh returned (Microsoft rotates refresh
// tokens). The row is locked while refreshing, so two senders never spend
// the same refresh token. A refused refresh marks the account error with
// last_error saying to reconnect.
func (s *Service) AccessToken(ctx context.Context, org, accountID uuid.UUID) (string, error) {
	var token string
	var refreshErr error
	err := s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		r, err := load(ctx, tx, org, accountID, true)
		if err != nil {
			return err
		}
		if r.Provider != ProviderGmail && r.Provider != ProviderOutlook {
			return fault.Conflict("not_oauth", "a "+r.Provider+" account has no OAuth tokens")
		}
		if r.AccessTokenCipher != nil && r.TokenExpiresAt != nil && r.TokenExpiresAt.After(s.now().Add(refreshMargin)) {
			token, err = s.keyring.DecryptString(*r.AccessTokenCipher, accessTokenAAD(r.ID))
			if err != nil {
				return fmt.Errorf("emailaccounts: access token %s: %w", r.ID, err)
			}
			return nil
		}
		if r.RefreshTokenCipher == nil {
			refreshErr = fault.Conflict("oauth_reconnect", "the account has no refresh token; connect it again")
			return nil
		}
		rt, err := s.keyring.DecryptString(*r.RefreshTokenCipher, refreshTokenAAD(r.ID))
		if err != nil {
			return fmt.Errorf("emailaccounts: refresh token %s: %w", r.ID, err)
		}
		p, err := s.provider(r.Provider)
		if err != nil {
			return err
		}
		hctx := context.WithValue(ctx, oauth2.HTTPClient, s.o.HTTPClient)
		tok, err := p.config().TokenSource(hctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
		if err != nil {
			refreshErr = providerFault("refreshing the access token", err)
			return nil
		}
		if err := s.sealTokens(&r, tok); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(&r).Column("oauth_access_token_encrypted", "oauth_refresh_token_encrypted", "oauth_token_expires_at").
			Where("org_id = ? AND id = ?", org, r.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("emailaccounts: store refreshed token: %w", database.Interpret(err))
		}
		token = tok.AccessToken
		return nil
	})
	if err != nil {
		return "", err
	}
	if refreshErr != nil {
		if fault.IsKind(refreshErr, fault.KindInvalid) || fault.IsKind(refreshErr, fault.KindConflict) {
			msg := "the provider no longer accepts this connection; connect the mailbox again"
			if fe, ok := fault.As(refreshErr); ok && len(fe.Fields) > 0 {
				msg = fe.Fields[0].Message + "; connect the mailbox again"
			}
			if err := s.markError(ctx, org, accountID, msg); err != nil {
				return "", errors.Join(refreshErr, fmt.Errorf("emailaccounts: record the refused token of %s: %w", accountID, err))
			}
		}
		return "", refreshErr
	}
	return token, nil
}

// markError puts the connection in error with lastError, on both sides
// (an OAuth token the provider refuses breaks SMTP and IMAP alike),
// outside any other transaction (a failure must stick even though the
// work that found it failed), with email_account.updated when that
// changes what the account shows. A disabled account stays disabled.
func (s *Service) markError(ctx context.Context, org, id uuid.UUID, lastError string) error {
	return s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var was []struct {
			Status string  `bun:"was_status"`
			Error  *string `bun:"was_error"`
		}
		// o is the row as it was, locked: a change committed while this
		// waited is what it compares with.
		err := tx.NewRaw(`UPDATE email_accounts a SET
				connection_status = CASE WHEN a.connection_status = 'disabled' THEN a.connection_status ELSE 'error' END,
				last_error = ?, error_source = NULL, updated_at = now()
			FROM (SELECT connection_status AS was_status, last_error AS was_error FROM email_accounts WHERE org_id = ? AND id = ? FOR NO KEY UPDATE) o
			WHERE a.org_id = ? AND a.id = ? RETURNING o.was_status, o.was_error`, lastError, org, id, org, id).Scan(ctx, &was)
		if err = database.Interpret(err); err != nil && !errors.Is(err, database.ErrNotFound) {
			return err
		}
		if len(was) == 0 || (was[0].Status == StatusError && was[0].Error != nil && *was[0].Error == lastError) {
			return nil
		}
		return Mailboxes{s: s}.RecordUpdated(ctx, tx, org, id)
	})
}
