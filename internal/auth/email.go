package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/token"
)

// Mailed secrets prove that whoever presents them reads the address they
// were sent to. Like every secret here they carry 256 bits and are stored
// as SHA-256 hashes (user_tokens); the prefixes name their kind.
const (
	PrefixVerifyEmail   = "lpv_"
	PrefixPasswordReset = "lpp_"

	VerifyEmailTTL   = 48 * time.Hour
	PasswordResetTTL = time.Hour
)

const (
	purposeVerifyEmail   = "verify_email"
	purposePasswordReset = "password_reset"
)

type userToken struct {
	bun.BaseModel `bun:"table:user_tokens"`

	ID        uuid.UUID `bun:"id,pk,type:uuid"`
	UserID    uuid.UUID `bun:"user_id,type:uuid"`
	Purpose   string    `bun:"purpose"`
	Email     string    `bun:"email"`
	TokenHash []byte    `bun:"token_hash"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// issueVerification stores a verification token for u in tx (whose tenant
// is u) and returns its secret.
func (s *Service) issueVerification(ctx context.Context, tx bun.IDB, u User) (string, error) {
	secret, hash := token.New(PrefixVerifyEmail)
	t := userToken{
		ID: uuid.Must(uuid.NewV7()), UserID: u.ID, Purpose: purposeVerifyEmail, Email: u.Email,
		TokenHash: hash, ExpiresAt: s.now().Add(VerifyEmailTTL),
	}
	if _, err := tx.NewInsert().Model(&t).Exec(ctx); err != nil {
		return "", fmt.Errorf("auth: issue verification for %s: %w", u.ID, database.Interpret(err))
	}
	return secret, nil
}

var (
	errTokenUsed    = fault.Conflict("token_used", "this link was already used; ask for a new one")
	errTokenExpired = fault.Conflict("token_expired", "this link has expired; ask for a new one")
)

// useToken spends a mailed secret of purpose and applies its effect in
// the database (auth_use_user_token); passwordHash is the new password for
// a reset.
func (s *Service) useToken(ctx context.Context, secret, purpose, passwordHash string) (uuid.UUID, error) {
	var row struct {
		Outcome string     `bun:"outcome"`
		UserID  *uuid.UUID `bun:"user_id"`
	}
	err := s.db.Bun.NewRaw(`SELECT outcome, user_id FROM auth_use_user_token(?, ?, NULLIF(?, ''))`,
		token.Hash(secret), purpose, passwordHash).Scan(ctx, &row)
	if err != nil {
		return uuid.Nil, fmt.Errorf("auth: use %s token: %w", purpose, database.Interpret(err))
	}
	switch row.Outcome {
	case "ok":
		return *row.UserID, nil
	case "used":
		return uuid.Nil, errTokenUsed
	case "expired":
		return uuid.Nil, errTokenExpired
	default:
		return uuid.Nil, fault.NotFound("token")
	}
}

// checkToken answers for an unknown, used or expired secret before any
// costly work (hashing a new password).
func (s *Service) checkToken(ctx context.Context, secret, purpose string) error {
	var row struct {
		Purpose   string     `bun:"purpose"`
		ExpiresAt time.Time  `bun:"expires_at"`
		UsedAt    *time.Time `bun:"used_at"`
	}
	err := database.Interpret(s.db.Bun.NewRaw(`SELECT purpose, expires_at, used_at FROM auth_user_token(?)`, token.Hash(secret)).Scan(ctx, &row))
	switch {
	case errors.Is(err, database.ErrNotFound):
		return fault.NotFound("token")
	case err != nil:
		return fmt.Errorf("auth: look up %s token: %w", purpose, err)
	case row.Purpose != purpose:
		return fault.NotFound("token")
	case row.UsedAt != nil:
		return errTokenUsed
	case !s.now().Before(row.ExpiresAt):
		return errTokenExpired
	}
	return nil
}

// VerifyEmail spends a verification secret and marks the address verified.
func (s *Service) VerifyEmail(ctx context.Context, secret string) error {
	_, err := s.useToken(ctx, secret, purposeVerifyEmail, "")
	return err
}

// ResendVerification mails the signed-in user a new verification link.
// Rate limiting is the caller's (per user).
func (s *Service) ResendVerification(ctx context.Context, p Principal) error {
	if err := p.Actor().RequireUser("verify an address"); err != nil {
		return err
	}
	var u User
	var secret string
	err := s.db.InTenant(ctx, p.Actor().Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		if u, err = loadUser(ctx, tx, p.UserID); err != nil {
			return err
		}
		if u.EmailVerifiedAt != nil {
			return fault.Conflict("already_verified", "this address is already verified")
		}
		secret, err = s.issueVerification(ctx, tx, u)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.mail.Mailer.Send(ctx, verificationMessage(s.mail.PublicURL, u, secret)); err != nil {
		return (&fault.Error{Kind: fault.KindUnavailable, Code: "mail_unavailable", Detail: "the verification mail could not be sent; try again later"}).WithCause(err)
	}
	return nil
}

// PasswordResetRequested is the one answer to every reset request.
const PasswordResetRequested = "If an account uses this address, a link to reset its password is on its way; it works once, within an hour."

// RequestPasswordReset starts a reset for email and returns at once: the
// lookup, the token and the mail happen in the background, so the caller's
// answer and its timing say nothing about whether the address has an
// account. A request the service has no room for is dropped and logged
// (the person asks again).
func (s *Service) RequestPasswordReset(ctx context.Context, email string) {
	email = NormalizeEmail(email)
	select {
	case s.slots <- struct{}{}:
	default:
		s.mail.Logger.WarnContext(ctx, "auth: password reset dropped: too many in flight")
		return
	}
	s.background.Add(1)
	bg := context.WithoutCancel(ctx) // keeps the request id for logs, outlives the request
	go func() {
		defer func() { <-s.slots; s.background.Done() }()
		ctx, cancel := context.WithTimeout(bg, time.Minute)
		defer cancel()
		if err := s.sendPasswordReset(ctx, email); err != nil {
			s.mail.Logger.ErrorContext(ctx, "auth: password reset mail not sent", "err", err)
		}
	}()
}

func (s *Service) sendPasswordReset(ctx context.Context, email string) error {
	secret, hash := token.New(PrefixPasswordReset)
	var userID *uuid.UUID
	err := s.db.Bun.NewRaw(`SELECT auth_issue_user_token(?, ?, ?, ?, ?)`,
		email, purposePasswordReset, uuid.Must(uuid.NewV7()), hash, s.now().Add(PasswordResetTTL)).Scan(ctx, &userID)
	if err != nil {
		return fmt.Errorf("auth: issue password reset: %w", database.Interpret(err))
	}
	if userID == nil {
		return nil // no account: nothing to send, and nobody is told
	}
	if err := s.mail.Mailer.Send(ctx, passwordResetMessage(s.mail.PublicURL, email, secret)); err != nil {
		return fmt.Errorf("auth: password reset for %s: %w", *userID, err)
	}
	return nil
}

// Wait blocks until background work (password-reset requests) is done or
// ctx ends; call it on shutdown.
func (s *Service) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ConfirmPasswordReset spends a reset secret: it sets the new password,
// verifies the address (the link reached it), spends the account's other
// open reset links and ends every session of the account in every
// organisation (refresh tokens revoked; their access tokens fail the
// per-request session check).
func (s *Service) ConfirmPasswordReset(ctx context.Context, secret, password string) error {
	if err := s.checkToken(ctx, secret, purposePasswordReset); err != nil {
		return err
	}
	if err := checkNewPassword(password, "/password"); err != nil {
		return err
	}
	hash, err := HashPassword(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.useToken(ctx, secret, purposePasswordReset, hash)
	return err
}

func verificationMessage(publicURL string, u User, secret string) mailer.Message {
	link := publicURL + "/verify-email?token=" + url.QueryEscape(secret)
	return mailer.Message{
		To:      u.Email,
		Subject: "Confirm your email address for LeadPilot",
		Text: "Hello " + u.FullName + ",\n\n" +
			"Please confirm that this is your address by opening this link:\n\n" +
			link + "\n\n" +
			"The link works once, within 48 hours. Until you confirm, you can use\n" +
			"LeadPilot but cannot invite people or create API keys.\n\n" +
			"If you did not sign up for LeadPilot, ignore this mail.\n",
	}
}

func passwordResetMessage(publicURL, email, secret string) mailer.Message {
	link := publicURL + "/reset-password?token=" + url.QueryEscape(secret)
	return mailer.Message{
		To:      email,
		Subject: "Reset your LeadPilot password",
		Text: "Someone asked to reset the password of the LeadPilot account for this address.\n\n" +
			"To choose a new password, open this link:\n\n" +
			link + "\n\n" +
			"The link works once, within an hour. Resetting signs the account out everywhere.\n\n" +
			"If it was not you, ignore this mail: your password stays as it is.\n",
	}
}
