// Package auth signs people up and in, rotates refresh tokens with reuse
// detection, accepts invites, and turns a bearer credential (access token
// or API key) into the request's Principal.
//
// Lookups that happen before a tenant is known (an email, a refresh-token
// hash, an API-key hash, an invite-token hash) go through narrow SECURITY
// DEFINER functions from the foundation migration; everything after runs
// in a tenant transaction under row-level security.
//
// Tables: auth owns users, refresh_tokens and user_tokens. Its rows stay
// here: the rest of the program sees User, a view without the password
// hash. Organisations, memberships, invites and API keys are orgs'; auth
// reads and writes them only through orgs' exported functions, except for
// the one query in Check that joins memberships to refresh_tokens.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaddr"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/token"
)

// userRow is a person who can sign in, as stored; it never leaves the
// package (its password hash must not), User is what others see.
type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID           uuid.UUID  `bun:"id,pk,type:uuid"`
	Email        string     `bun:"email"`
	PasswordHash string     `bun:"password_hash"`
	FullName     string     `bun:"full_name"`
	LastActiveAt *time.Time `bun:"last_active_at"`
	// EmailVerifiedAt is when the user proved they receive mail at Email
	// (nil: not yet).
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`
	CreatedAt       time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt       time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (r userRow) view() User {
	return User{
		ID: r.ID, Email: r.Email, FullName: r.FullName, LastActiveAt: r.LastActiveAt,
		EmailVerifiedAt: r.EmailVerifiedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// User is a person who can sign in, as the API shows them.
type User struct {
	ID           uuid.UUID
	Email        string
	FullName     string
	LastActiveAt *time.Time
	// EmailVerifiedAt is when the user proved they receive mail at Email
	// (nil: not yet).
	EmailVerifiedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// loadUser reads user id in the tenant transaction db.
func loadUser(ctx context.Context, db bun.IDB, id uuid.UUID) (User, error) {
	var u userRow
	if err := db.NewSelect().Model(&u).Where("id = ?", id).Scan(ctx); err != nil {
		return User{}, fmt.Errorf("auth: load user %s: %w", id, database.Interpret(err))
	}
	return u.view(), nil
}

type refreshToken struct {
	bun.BaseModel `bun:"table:refresh_tokens"`

	ID        uuid.UUID   `bun:"id,pk,type:uuid"`
	FamilyID  uuid.UUID   `bun:"family_id,type:uuid"`
	UserID    uuid.UUID   `bun:"user_id,type:uuid"`
	OrgID     uuid.UUID   `bun:"org_id,type:uuid"`
	TokenHash []byte      `bun:"token_hash"`
	ExpiresAt time.Time   `bun:"expires_at"`
	UserAgent *string     `bun:"user_agent"`
	IP        *netip.Addr `bun:"ip,type:inet"`
}

// Client describes where a request came from, kept with sessions.
type Client struct {
	UserAgent string
	IP        string
}

// Session is what signup, login, refresh and accepting an invite return.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	User         User
	Org          orgs.Organization
	Role         access.Role
}

// Mail is how the service reaches a user's address: verification and
// password-reset links point at PublicURL; failures to send are logged.
type Mail struct {
	Mailer    mailer.Mailer
	PublicURL string
	Logger    *slog.Logger
}

// Service implements authentication.
type Service struct {
	db         *database.DB
	tokens     *Tokens
	refreshTTL time.Duration
	mail       Mail
	now        func() time.Time

	background sync.WaitGroup // password-reset requests finishing after their answer
	slots      chan struct{}  // bounds them
}

// NewService builds the service.
func NewService(db *database.DB, tokens *Tokens, refreshTTL time.Duration, mail Mail) *Service {
	mail.PublicURL = strings.TrimRight(mail.PublicURL, "/")
	if mail.Logger == nil {
		mail.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, tokens: tokens, refreshTTL: refreshTTL, mail: mail, now: time.Now, slots: make(chan struct{}, 32)}
}

var errInvalidCredentials = fault.Unauthorized("invalid_credentials", "email or password is wrong")

// SignupInput is a new organisation and its owner.
type SignupInput struct {
	Email, Password, FullName, OrgName string
}

// NormalizeEmail is how addresses are stored and compared (see emailaddr).
func NormalizeEmail(s string) string { return emailaddr.Canonical(s) }

func checkNewPassword(pw, field string) error {
	if len([]rune(pw)) < MinPasswordLen {
		return fault.Invalid(fault.FieldError{Field: field, Code: "too_short", Message: fmt.Sprintf("must have at least %d characters", MinPasswordLen)})
	}
	return nil
}

// Signup creates the organisation, its owner and a first session.
func (s *Service) Signup(ctx context.Context, in SignupInput, c Client) (Session, error) {
	var fields fault.Fields
	if strings.TrimSpace(in.FullName) == "" {
		fields.Add("/full_name", "required", "must not be blank")
	}
	if strings.TrimSpace(in.OrgName) == "" {
		fields.Add("/org_name", "required", "must not be blank")
	}
	if p, ok := emailaddr.Check(NormalizeEmail(in.Email)); !ok {
		fields.Add("/email", p.Code, p.Message)
	}
	if err := checkNewPassword(in.Password, "/password"); err != nil {
		fe, _ := fault.As(err)
		fields = append(fields, fe.Fields...)
	}
	if err := fields.Err(); err != nil {
		return Session{}, err
	}
	pwHash, herr := HashPassword(ctx, in.Password)
	if herr != nil {
		return Session{}, herr
	}
	user := userRow{
		ID: uuid.Must(uuid.NewV7()), Email: NormalizeEmail(in.Email),
		PasswordHash: pwHash, FullName: strings.TrimSpace(in.FullName),
	}
	orgID := uuid.Must(uuid.NewV7())
	var sess Session
	var verify string
	err := s.db.InTenant(ctx, database.Tenant{OrgID: orgID, UserID: user.ID}, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewInsert().Model(&user).Returning("created_at, updated_at").Exec(ctx); err != nil {
			if database.IsConstraint(err, "users_email_key") {
				return fault.Conflict("email_taken", "an account with this email exists; sign in (or reset its password if it is yours and you cannot), or ask for an invite to join an organisation")
			}
			return fmt.Errorf("auth: signup: insert user: %w", database.Interpret(err))
		}
		org, err := orgs.CreateOrganization(ctx, tx, orgID, in.OrgName)
		if err != nil {
			return err
		}
		if _, err := orgs.AddMember(ctx, tx, orgID, user.ID, access.RoleOwner); err != nil {
			return err
		}
		if verify, err = s.issueVerification(ctx, tx, user.view()); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, user.view(), org, access.RoleOwner, uuid.Must(uuid.NewV7()), c)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	// After commit: a link is never mailed for an account that does not
	// exist. A failed send is logged; the user can ask for another.
	// The account exists whether or not the caller waits for the mail.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.mail.Mailer.Send(mctx, verificationMessage(s.mail.PublicURL, user.view(), verify)); err != nil {
		s.mail.Logger.ErrorContext(ctx, "auth: verification mail not sent", "user_id", user.ID, "err", err)
	}
	return sess, nil
}

// startSession stores a refresh token in family and signs an access token.
func (s *Service) startSession(ctx context.Context, tx bun.IDB, u User, org orgs.Organization, role access.Role, family uuid.UUID, c Client) (Session, error) {
	secret, hash := token.New(token.PrefixRefresh)
	rt := refreshToken{
		ID: uuid.Must(uuid.NewV7()), FamilyID: family, UserID: u.ID, OrgID: org.ID, TokenHash: hash,
		ExpiresAt: s.now().Add(s.refreshTTL),
	}
	if c.UserAgent != "" {
		ua := c.UserAgent
		if len(ua) > 500 {
			ua = ua[:500]
		}
		rt.UserAgent = &ua
	}
	if ip, err := netip.ParseAddr(c.IP); err == nil {
		rt.IP = &ip
	}
	if _, err := tx.NewInsert().Model(&rt).Exec(ctx); err != nil {
		return Session{}, fmt.Errorf("auth: store refresh token: %w", database.Interpret(err))
	}
	if _, err := tx.NewUpdate().Model((*userRow)(nil)).Set("last_active_at = now()").Where("id = ?", u.ID).Exec(ctx); err != nil {
		return Session{}, fmt.Errorf("auth: touch user %s: %w", u.ID, database.Interpret(err))
	}
	accessToken, err := s.tokens.Issue(u.ID, org.ID, string(role), family)
	if err != nil {
		return Session{}, err
	}
	return Session{AccessToken: accessToken, RefreshToken: secret, ExpiresIn: s.tokens.TTL(), User: u, Org: org, Role: role}, nil
}

// Login checks email and password and opens a session in orgID (or the
// first organisation the user joined). Unknown email and wrong password
// take the same time and give the same answer.
func (s *Service) Login(ctx context.Context, email, password string, orgID *uuid.UUID, c Client) (Session, error) {
	var row struct {
		ID           uuid.UUID `bun:"id"`
		PasswordHash string    `bun:"password_hash"`
	}
	err := database.Interpret(s.db.Bun.NewRaw(`SELECT id, password_hash FROM auth_user_by_email(?)`, NormalizeEmail(email)).Scan(ctx, &row))
	found := err == nil
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		return Session{}, fmt.Errorf("auth: login lookup: %w", err)
	}
	hash := row.PasswordHash
	if !found {
		hash = dummyHash
	}
	ok, verr := VerifyPassword(ctx, hash, password)
	if verr != nil {
		return Session{}, fmt.Errorf("auth: login: stored hash for %s: %w", row.ID, verr)
	}
	if !found || !ok {
		return Session{}, errInvalidCredentials
	}
	ms, err := orgs.UserMemberships(ctx, s.db.Bun, row.ID)
	if err != nil {
		return Session{}, fmt.Errorf("auth: login: %w", err)
	}
	var chosen *orgs.Membership
	for i := range ms {
		if orgID == nil || ms[i].OrgID == *orgID {
			chosen = &ms[i]
			break
		}
	}
	if chosen == nil {
		if orgID != nil {
			return Session{}, fault.Unauthorized("not_a_member", "you are not a member of that organisation")
		}
		return Session{}, fault.Unauthorized("no_membership", "this account no longer belongs to any organisation; ask for an invite")
	}
	return s.openSession(ctx, row.ID, chosen.OrgID, uuid.Must(uuid.NewV7()), c, nil)
}

// openSession loads user, organisation and role in the tenant and starts a
// session; before, when set, runs first in the same transaction.
func (s *Service) openSession(ctx context.Context, userID, orgID, family uuid.UUID, c Client, before func(ctx context.Context, tx bun.IDB) error) (Session, error) {
	var sess Session
	err := s.db.InTenant(ctx, database.Tenant{OrgID: orgID, UserID: userID}, func(ctx context.Context, tx bun.IDB) error {
		if before != nil {
			if err := before(ctx, tx); err != nil {
				return err
			}
		}
		role, err := orgs.MemberRole(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		u, err := loadUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		org, err := orgs.GetOrganization(ctx, tx, orgID)
		if err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, u, org, role, family, c)
		return err
	})
	return sess, err
}

type storedRefresh struct {
	ID        uuid.UUID  `bun:"id"`
	FamilyID  uuid.UUID  `bun:"family_id"`
	UserID    uuid.UUID  `bun:"user_id"`
	OrgID     uuid.UUID  `bun:"org_id"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

var errInvalidRefresh = fault.Unauthorized("invalid_refresh_token", "the refresh token is unknown, expired or revoked; sign in again")

func (s *Service) lookupRefresh(ctx context.Context, secret string) (storedRefresh, bool, error) {
	var rt storedRefresh
	err := database.Interpret(s.db.Bun.NewRaw(`SELECT id, family_id, user_id, org_id, expires_at, used_at, revoked_at FROM auth_refresh_token(?)`,
		token.Hash(secret)).Scan(ctx, &rt))
	if errors.Is(err, database.ErrNotFound) {
		return rt, false, nil
	}
	if err != nil {
		return rt, false, fmt.Errorf("auth: refresh lookup: %w", err)
	}
	return rt, true, nil
}

// lockFamily serialises everything that changes one session: a refresh
// that inserts the next token and a revocation of the family cannot
// interleave, so a revocation never misses a token issued at that moment.
func lockFamily(ctx context.Context, tx bun.IDB, family uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 7276))`, family.String()); err != nil {
		return fmt.Errorf("auth: lock session %s: %w", family, database.Interpret(err))
	}
	return nil
}

func (s *Service) revokeFamily(ctx context.Context, rt storedRefresh) error {
	return s.db.InTenant(ctx, database.Tenant{OrgID: rt.OrgID, UserID: rt.UserID}, func(ctx context.Context, tx bun.IDB) error {
		if err := lockFamily(ctx, tx, rt.FamilyID); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*refreshToken)(nil)).Set("revoked_at = now()").
			Where("family_id = ? AND revoked_at IS NULL", rt.FamilyID).Exec(ctx); err != nil {
			return fmt.Errorf("auth: revoke session %s: %w", rt.FamilyID, database.Interpret(err))
		}
		return nil
	})
}

var errReused = errors.New("refresh token already used")

// Refresh uses up a refresh token and returns the next session in its
// family. A token presented a second time means it was copied: the whole
// family is revoked, ending the thief's and the owner's sessions alike.
func (s *Service) Refresh(ctx context.Context, secret string, c Client) (Session, error) {
	rt, ok, err := s.lookupRefresh(ctx, secret)
	if err != nil {
		return Session{}, err
	}
	if !ok || rt.RevokedAt != nil || !s.now().Before(rt.ExpiresAt) {
		return Session{}, errInvalidRefresh
	}
	if rt.UsedAt != nil {
		if err := s.revokeFamily(ctx, rt); err != nil {
			return Session{}, fmt.Errorf("auth: revoke reused family: %w", err)
		}
		return Session{}, fault.Unauthorized("refresh_token_reused", "this refresh token was already used; every session from that sign-in is now revoked")
	}
	sess, err := s.openSession(ctx, rt.UserID, rt.OrgID, rt.FamilyID, c, func(ctx context.Context, tx bun.IDB) error {
		if err := lockFamily(ctx, tx, rt.FamilyID); err != nil {
			return fmt.Errorf("auth: lock session: %w", err)
		}
		res, err := tx.NewUpdate().Model((*refreshToken)(nil)).Set("used_at = now()").
			Where("id = ? AND used_at IS NULL AND revoked_at IS NULL", rt.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("auth: use refresh token: %w", database.Interpret(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errReused // a concurrent refresh got there first
		}
		return nil
	})
	if errors.Is(err, errReused) {
		if err := s.revokeFamily(ctx, rt); err != nil {
			return Session{}, fmt.Errorf("auth: revoke reused family: %w", err)
		}
		return Session{}, fault.Unauthorized("refresh_token_reused", "this refresh token was already used; every session from that sign-in is now revoked")
	}
	if fault.IsKind(err, fault.KindUnauthorized) {
		return Session{}, errInvalidRefresh // no longer a member
	}
	return sess, err
}

// Logout revokes the refresh token's family. Unknown tokens are ignored:
// logging out must always succeed.
func (s *Service) Logout(ctx context.Context, secret string) error {
	rt, ok, err := s.lookupRefresh(ctx, secret)
	if err != nil || !ok {
		return err
	}
	return s.revokeFamily(ctx, rt)
}

// AcceptInvite joins the invite's organisation. A new person sets a
// password (and name); someone with an account proves it with theirs.
func (s *Service) AcceptInvite(ctx context.Context, secret, password, fullName string, c Client) (Session, error) {
	inv, err := orgs.LookupInvite(ctx, s.db.Bun, token.Hash(secret))
	if errors.Is(err, database.ErrNotFound) {
		return Session{}, fault.NotFound("invite")
	}
	if err != nil {
		return Session{}, fmt.Errorf("auth: %w", err)
	}
	switch {
	case inv.AcceptedAt != nil:
		return Session{}, fault.Conflict("invite_used", "this invite was already accepted")
	case inv.RevokedAt != nil:
		return Session{}, fault.Conflict("invite_revoked", "this invite was revoked")
	case !s.now().Before(inv.ExpiresAt):
		return Session{}, fault.Conflict("invite_expired", "this invite has expired; ask for a new one")
	}

	var existing struct {
		ID           uuid.UUID `bun:"id"`
		PasswordHash string    `bun:"password_hash"`
	}
	err = database.Interpret(s.db.Bun.NewRaw(`SELECT id, password_hash FROM auth_user_by_email(?)`, inv.Email).Scan(ctx, &existing))
	isNew := errors.Is(err, database.ErrNotFound)
	if err != nil && !isNew {
		return Session{}, fmt.Errorf("auth: invitee lookup: %w", err)
	}
	var user userRow
	if isNew {
		if err := checkNewPassword(password, "/password"); err != nil {
			return Session{}, err
		}
		name := strings.TrimSpace(fullName)
		if name == "" {
			name, _, _ = strings.Cut(inv.Email, "@")
		}
		pwHash, err := HashPassword(ctx, password)
		if err != nil {
			return Session{}, err
		}
		// The token reached the invitee only by mail to inv.Email: the
		// account starts verified.
		now := s.now()
		user = userRow{ID: uuid.Must(uuid.NewV7()), Email: inv.Email, PasswordHash: pwHash, FullName: name, EmailVerifiedAt: &now}
	} else {
		ok, verr := VerifyPassword(ctx, existing.PasswordHash, password)
		if verr != nil {
			return Session{}, fmt.Errorf("auth: invitee hash: %w", verr)
		}
		if !ok {
			return Session{}, fault.Unauthorized("invalid_credentials", "an account with this email exists: enter its password to join")
		}
		user.ID = existing.ID
	}
	return s.openSession(ctx, user.ID, inv.OrgID, uuid.Must(uuid.NewV7()), c, func(ctx context.Context, tx bun.IDB) error {
		if isNew {
			if _, err := tx.NewInsert().Model(&user).Exec(ctx); err != nil {
				if database.IsConstraint(err, "users_email_key") {
					return fault.Conflict("email_taken", "an account with this email was just created; accept again with its password")
				}
				return fmt.Errorf("auth: create invitee: %w", database.Interpret(err))
			}
		} else if _, err := tx.NewUpdate().Model((*userRow)(nil)).Set("email_verified_at = coalesce(email_verified_at, now())").
			Where("id = ? AND email = ?", user.ID, inv.Email).Exec(ctx); err != nil {
			// Accepting used a secret mailed to the address: it is proven.
			return fmt.Errorf("auth: verify invitee %s: %w", user.ID, database.Interpret(err))
		}
		if err := orgs.MarkInviteAccepted(ctx, tx, inv.ID, user.ID); errors.Is(err, orgs.ErrInviteClosed) {
			return fault.Conflict("invite_used", "this invite was already accepted")
		} else if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		_, err := orgs.AddMember(ctx, tx, inv.OrgID, user.ID, inv.Role)
		return err
	})
}

// Credential is a bearer credential resolved to the tenant it claims: an
// access token whose signature and lifetime are good, or an API key that
// exists and is not revoked. Whether the claim still holds (the user is a
// member, the session was not ended) is Check's work, done inside the
// tenant's transaction.
type Credential struct {
	tenant     database.Tenant
	family     uuid.UUID  // access tokens: the sign-in's refresh-token family
	apiKeyID   uuid.UUID  // API keys
	lastUsedAt *time.Time // API keys
}

// Tenant is the organisation (and user) the credential claims to act for.
func (c Credential) Tenant() database.Tenant { return c.tenant }

// Authenticate turns a bearer credential into a principal: Resolve, then
// Check.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	c, err := s.Resolve(ctx, bearer)
	if err != nil {
		return Principal{}, err
	}
	return s.Check(ctx, c)
}

// Resolve reads a bearer credential: an API key (lp_…), looked up before
// any tenant is known, or an access token, checked by signature and
// lifetime alone. The HTTP edge opens the request's tenant transaction on
// the result and calls Check inside it.
func (s *Service) Resolve(ctx context.Context, bearer string) (Credential, error) {
	if strings.HasPrefix(bearer, token.PrefixAPIKey) {
		k, err := orgs.LookupAPIKey(ctx, s.db.Bun, token.Hash(bearer))
		if errors.Is(err, database.ErrNotFound) {
			return Credential{}, fault.Unauthorized("invalid_api_key", "the API key is not valid")
		}
		if err != nil {
			return Credential{}, fmt.Errorf("auth: %w", err)
		}
		if k.RevokedAt != nil {
			return Credential{}, fault.Unauthorized("invalid_api_key", "the API key was revoked")
		}
		return Credential{tenant: database.Tenant{OrgID: k.OrgID}, apiKeyID: k.ID, lastUsedAt: k.LastUsedAt}, nil
	}
	userID, orgID, claims, err := s.tokens.Verify(bearer)
	if errors.Is(err, ErrTokenExpired) {
		return Credential{}, fault.Unauthorized("token_expired", "the access token has expired; refresh it")
	}
	if err != nil {
		return Credential{}, fault.Unauthorized("invalid_token", "the bearer token is not valid")
	}
	family, err := uuid.Parse(claims.FamilyID)
	if err != nil {
		return Credential{}, fault.Unauthorized("invalid_token", "the bearer token is not valid")
	}
	return Credential{tenant: database.Tenant{OrgID: orgID, UserID: userID}, family: family}, nil
}

// Check confirms a resolved credential against the current state, in the
// credential's tenant (joining ctx's request transaction when there is
// one): for a user, that they are still a member (and with which role) and
// that the sign-in was not ended; for an API key, it keeps last_used_at.
func (s *Service) Check(ctx context.Context, c Credential) (Principal, error) {
	if c.apiKeyID != uuid.Nil {
		// last_used_at to the minute: one write a minute per key, not per request.
		if c.lastUsedAt == nil || s.now().Sub(*c.lastUsedAt) > time.Minute {
			err := s.db.InTenant(ctx, c.tenant, func(ctx context.Context, tx bun.IDB) error {
				return orgs.TouchAPIKey(ctx, tx, c.apiKeyID)
			})
			if err != nil {
				return Principal{}, fmt.Errorf("auth: %w", err)
			}
		}
		return Principal{Type: PrincipalAPIKey, OrgID: c.tenant.OrgID, APIKeyID: c.apiKeyID, Role: access.RoleAdmin}, nil
	}
	userID, orgID := c.tenant.UserID, c.tenant.OrgID
	// One query checks both that the user is still a member (and with
	// which role) and that the session was not ended: logging out, or a
	// reused refresh token, ends the access tokens of that sign-in too.
	var row struct {
		Role   access.Role `bun:"role"`
		Active bool        `bun:"active"`
	}
	err := s.db.InTenant(ctx, c.tenant, func(ctx context.Context, tx bun.IDB) error {
		return tx.NewRaw(`SELECT m.role, EXISTS (
				SELECT 1 FROM refresh_tokens t WHERE t.family_id = ? AND t.user_id = ? AND t.revoked_at IS NULL
				  AND t.created_at >= m.created_at -- a session from before a removal stays dead after a re-invite
			) AS active
			FROM memberships m WHERE m.org_id = ? AND m.user_id = ?`, c.family, userID, orgID, userID).Scan(ctx, &row)
	})
	if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
		return Principal{}, fault.Unauthorized("not_a_member", "you are not a member of this organisation")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: authenticate %s: %w", userID, err)
	}
	if !row.Active {
		return Principal{}, fault.Unauthorized("session_ended", "this session was logged out or revoked; sign in again")
	}
	return Principal{Type: PrincipalUser, OrgID: orgID, UserID: userID, Role: row.Role}, nil
}

// Open begins the credential's request transaction and checks the
// credential in it: for a user, the membership and session check travels
// with BEGIN in one round trip (database.BeginRequestWith); for an API key,
// Check runs in the opened transaction. The caller ends the transaction;
// on error there is none to end.
func (s *Service) Open(ctx context.Context, c Credential) (context.Context, *database.RequestTx, Principal, error) {
	if c.apiKeyID != uuid.Nil {
		rctx, rtx, err := s.db.BeginRequest(ctx, c.tenant)
		if err != nil {
			return ctx, nil, Principal{}, err
		}
		p, err := s.Check(rctx, c)
		if err != nil {
			_ = rtx.Rollback()
			return ctx, nil, Principal{}, err
		}
		return rctx, rtx, p, nil
	}
	// The same question as Check's.
	userID, orgID := c.tenant.UserID, c.tenant.OrgID
	rctx, rtx, rows, err := s.db.BeginRequestWith(ctx, c.tenant, `SELECT m.role::text, EXISTS (
			SELECT 1 FROM refresh_tokens t WHERE t.family_id = $1 AND t.user_id = m.user_id AND t.revoked_at IS NULL
			  AND t.created_at >= m.created_at
		) FROM memberships m WHERE m.org_id = $2 AND m.user_id = $3`, c.family.String(), orgID.String(), userID.String())
	if err != nil {
		return ctx, nil, Principal{}, fmt.Errorf("auth: authenticate %s: %w", userID, err)
	}
	refuse := func(e error) (context.Context, *database.RequestTx, Principal, error) {
		_ = rtx.Rollback()
		return ctx, nil, Principal{}, e
	}
	if len(rows) == 0 {
		return refuse(fault.Unauthorized("not_a_member", "you are not a member of this organisation"))
	}
	role, _ := rows[0][0].(string)
	if active, _ := rows[0][1].(bool); !active {
		return refuse(fault.Unauthorized("session_ended", "this session was logged out or revoked; sign in again"))
	}
	return rctx, rtx, Principal{Type: PrincipalUser, OrgID: orgID, UserID: userID, Role: access.Role(role)}, nil
}

// Me is what the caller sees of itself.
type Me struct {
	Org         orgs.Organization
	User        *User        // users only
	APIKey      *orgs.APIKey // API keys only
	Memberships []orgs.Membership
}

// Me loads the caller's organisation and identity in one transaction.
func (s *Service) Me(ctx context.Context, p Principal) (Me, error) {
	var me Me
	err := s.db.InTenant(ctx, p.Actor().Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		if me.Org, err = orgs.GetOrganization(ctx, tx, p.OrgID); err != nil {
			return err
		}
		if p.Type == PrincipalAPIKey {
			k, err := orgs.GetAPIKey(ctx, tx, p.APIKeyID)
			if err != nil {
				return fmt.Errorf("auth: me: %w", err)
			}
			me.APIKey = &k
			return nil
		}
		u, err := loadUser(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		me.User = &u
		if me.Memberships, err = orgs.UserMemberships(ctx, tx, p.UserID); err != nil {
			return fmt.Errorf("auth: me: %w", err)
		}
		return nil
	})
	return me, err
}
