// Package llmsettings owns each organisation's choice of language model —
// provider, model, temperature and its own API key (encrypted, never
// returned) — and the token usage it runs up. For returns the
// llm.Provider a feature should call for an organisation, metered, so
// every later feature (sequences, inbox, autopilot) gets the same rules.
//
// Tables: llmsettings owns the llm_* columns of organizations
// (llm_provider, llm_model, llm_api_key_encrypted, llm_settings; orgs owns
// the rest of the row) and llm_usage_daily. The key's ciphertext stays in
// this package: Settings says only whether a key is set.
package llmsettings

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/secrets"
)

// KeySource says whose API key calls are made with.
type KeySource string

// Key sources.
const (
	KeyOrg      KeySource = "org"      // the organisation's own key
	KeyPlatform KeySource = "platform" // the deployment's key
	KeyNone     KeySource = "none"     // the built-in provider needs none
)

// Settings are an organisation's LLM settings as shown to it.
type Settings struct {
	Provider    string  // the provider calls use
	Chosen      bool    // false: the platform default, which follows its keys
	Model       string  // the model calls use
	ModelChosen *string // nil: the provider's default
	Temperature *float64
	APIKeySet   bool
	KeySource   KeySource
	Builtin     bool
	UpdatedAt   time.Time
}

// Update replaces the settings. Model and Temperature nil mean "provider
// default". APIKey nil keeps the stored key while the provider stays the
// same and drops it when the provider changes (a key belongs to one
// provider); "" removes it.
type Update struct {
	Provider    string
	Model       *string
	Temperature *float64
	APIKey      *string
}

// Service implements the settings, provider resolution and metering.
type Service struct {
	db       *database.DB
	keyring  *secrets.Keyring
	platform llmfactory.Platform
	logger   *slog.Logger
	now      func() time.Time
	meter    *meter
}

// NewService builds the service.
func NewService(db *database.DB, keyring *secrets.Keyring, platform llmfactory.Platform, logger *slog.Logger) *Service {
	return &Service{db: db, keyring: keyring, platform: platform, logger: logger, now: time.Now, meter: newMeter(db, logger)}
}

type llmSettingsJSON struct {
	Temperature *float64 `json:"temperature,omitempty"`
}

type orgRow struct {
	bun.BaseModel `bun:"table:organizations"`

	ID          uuid.UUID       `bun:"id,pk,type:uuid"`
	Provider    *string         `bun:"llm_provider"` // nil: not chosen
	Model       *string         `bun:"llm_model"`
	KeyCipher   *string         `bun:"llm_api_key_encrypted"`
	LLMSettings llmSettingsJSON `bun:"llm_settings,type:jsonb"`
	UpdatedAt   time.Time       `bun:"updated_at"`
}

func keyAAD(orgID uuid.UUID) []byte {
	return secrets.AAD("organizations", "llm_api_key_encrypted", orgID.String())
}

func (s *Service) load(ctx context.Context, tx bun.IDB, orgID uuid.UUID) (orgRow, error) {
	var r orgRow
	if err := tx.NewSelect().Model(&r).Where("id = ?", orgID).Scan(ctx); err != nil {
		if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
			return r, fault.NotFound("organization")
		}
		return r, fmt.Errorf("llmsettings: load %s: %w", orgID, err)
	}
	return r, nil
}

// provider is the organisation's provider, or the platform default when
// it chose none.
func (s *Service) provider(r orgRow) string {
	if r.Provider != nil {
		return *r.Provider
	}
	return s.platform.DefaultProvider()
}

func (s *Service) view(r orgRow) Settings {
	p := s.provider(r)
	st := Settings{
		Provider: p, Chosen: r.Provider != nil, ModelChosen: r.Model, Temperature: r.LLMSettings.Temperature,
		APIKeySet: r.KeyCipher != nil, Builtin: p == llmfactory.Builtin, UpdatedAt: r.UpdatedAt,
		Model: llmfactory.DefaultModel(p),
	}
	if r.Model != nil {
		st.Model = *r.Model
	}
	switch {
	case st.Builtin:
		st.KeySource = KeyNone
	case st.APIKeySet:
		st.KeySource = KeyOrg
	case s.PlatformHasKey(p):
		st.KeySource = KeyPlatform
	default:
		st.KeySource = KeyNone
	}
	return st
}

// maxTemperature is the highest temperature a provider accepts (Anthropic's
// API takes 0..1; the OpenAI-style APIs and Gemini take 0..2).
func maxTemperature(provider string) float64 {
	if provider == llmfactory.Anthropic {
		return 1
	}
	return 2
}

// validModelID accepts a provider's model ids: Groq and OpenAI-compatible
// servers name models with an owner prefix ("openai/gpt-oss-120b"), so a
// slash is allowed, except for Gemini, whose model goes into the URL path.
func validModelID(provider, m string) bool {
	if len(m) > 100 || strings.ContainsAny(m, " \t\r\n?#%\\") || strings.Contains(m, "..") {
		return false
	}
	if provider == llmfactory.Gemini && strings.Contains(strings.TrimPrefix(m, "models/"), "/") {
		return false
	}
	return true
}

// PlatformHasKey reports whether the deployment has a key for provider.
func (s *Service) PlatformHasKey(provider string) bool {
	return strings.TrimSpace(s.platform.Keys[provider]) != ""
}

// Get returns the organisation's settings; any member may read them.
func (s *Service) Get(ctx context.Context, a access.Actor) (Settings, error) {
	var st Settings
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := s.load(ctx, tx, a.OrgID)
		st = s.view(r)
		return err
	})
	return st, err
}

// Put replaces the settings; owners and admins only.
func (s *Service) Put(ctx context.Context, a access.Actor, u Update) (Settings, error) {
	if err := a.RequireAdmin("change LLM settings"); err != nil {
		return Settings{}, err
	}
	var fields fault.Fields
	u.Provider = strings.ToLower(strings.TrimSpace(u.Provider))
	if !slices.Contains(llmfactory.Providers, u.Provider) {
		fields.Add("/provider", "unknown_provider", "must be one of "+strings.Join(llmfactory.Providers, ", "))
	}
	if u.Model != nil {
		m := strings.TrimSpace(*u.Model)
		switch {
		case m == "":
			u.Model = nil
		case !validModelID(u.Provider, m):
			fields.Add("/model", "invalid_model", "must be a model id such as "+llmfactory.DefaultModel(u.Provider))
		default:
			u.Model = &m
		}
		if u.Provider == llmfactory.Builtin && u.Model != nil {
			fields.Add("/model", "invalid_model", "the built-in provider has no models to choose from")
		}
	}
	if t := u.Temperature; t != nil {
		if limit := maxTemperature(u.Provider); math.IsNaN(*t) || *t < 0 || *t > limit {
			fields.Add("/temperature", "out_of_range", fmt.Sprintf("must be between 0 and %g for %s", limit, u.Provider))
		}
	}
	var cipher *string
	if u.APIKey != nil && strings.TrimSpace(*u.APIKey) != "" {
		key := strings.TrimSpace(*u.APIKey)
		if u.Provider == llmfactory.Builtin {
			fields.Add("/api_key", "not_applicable", "the built-in provider takes no API key")
		} else if len(key) < 8 || len(key) > 500 || strings.ContainsAny(key, " \t\r\n") {
			fields.Add("/api_key", "invalid_key", "does not look like an API key")
		} else {
			c, err := s.keyring.EncryptString(key, keyAAD(a.OrgID))
			if err != nil {
				return Settings{}, fmt.Errorf("llmsettings: encrypt key: %w", err)
			}
			cipher = &c
		}
	}
	if err := fields.Err(); err != nil {
		return Settings{}, err
	}
	var st Settings
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		cur, err := s.load(ctx, tx, a.OrgID)
		if err != nil {
			return err
		}
		next := cur
		provider := u.Provider
		next.Provider, next.Model, next.LLMSettings.Temperature = &provider, u.Model, u.Temperature
		switch {
		case cipher != nil:
			next.KeyCipher = cipher
		case u.APIKey != nil: // "" clears
			next.KeyCipher = nil
		case s.provider(cur) != u.Provider: // the old key is for another provider
			next.KeyCipher = nil
		}
		_, err = tx.NewUpdate().Model(&next).Column("llm_provider", "llm_model", "llm_api_key_encrypted", "llm_settings").
			Where("id = ?", a.OrgID).Returning("updated_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("llmsettings: save %s: %w", a.OrgID, database.Interpret(err))
		}
		st = s.view(next)
		return nil
	})
	return st, err
}

// For returns the provider to call for the organisation, metered into
// llm_usage_daily, and its settings. The org's key wins over the platform's.
func (s *Service) For(ctx context.Context, orgID uuid.UUID) (llm.Provider, Settings, error) {
	var r orgRow
	err := s.db.InTenant(ctx, database.Tenant{OrgID: orgID}, func(ctx context.Context, tx bun.IDB) error {
		var err error
		r, err = s.load(ctx, tx, orgID)
		return err
	})
	if err != nil {
		return nil, Settings{}, err
	}
	key := ""
	if r.KeyCipher != nil {
		key, err = s.keyring.DecryptString(*r.KeyCipher, keyAAD(orgID))
		if err != nil {
			return nil, Settings{}, fmt.Errorf("llmsettings: decrypt key of %s: %w", orgID, err)
		}
	}
	model := ""
	if r.Model != nil {
		model = *r.Model
	}
	p, err := s.platform.New(s.provider(r), model, key)
	if err != nil {
		return nil, Settings{}, err
	}
	st := s.view(r)
	return &metered{Provider: p, s: s, orgID: orgID, temperature: st.Temperature, model: st.Model}, st, nil
}

// TestResult is the outcome of a tiny real call.
type TestResult struct {
	OK        bool
	Provider  string
	Model     string
	Builtin   bool
	Latency   time.Duration
	Reply     string
	ErrorCode string
	ErrorText string
}

// Test makes a tiny call with the current settings and reports how it
// went, in plain words when it failed. Owners and admins only: it spends
// tokens.
func (s *Service) Test(ctx context.Context, a access.Actor) (TestResult, error) {
	if err := a.RequireAdmin("test LLM settings"); err != nil {
		return TestResult{}, err
	}
	p, st, err := s.For(ctx, a.OrgID)
	res := TestResult{Provider: st.Provider, Model: st.Model, Builtin: st.Builtin}
	if err != nil {
		var le *llm.Error
		if !errors.As(err, &le) {
			return TestResult{}, err
		}
		s2, gerr := s.Get(ctx, a)
		if gerr != nil {
			return TestResult{}, gerr
		}
		res.Provider, res.Model, res.Builtin = s2.Provider, s2.Model, s2.Builtin
		res.ErrorCode, res.ErrorText = ErrorCode(le), le.Message
		return res, nil
	}
	start := s.now()
	out, err := p.(*metered).chat(ctx, "test", llm.ChatRequest{
		Messages:  []llm.Message{{Role: llm.RoleUser, Content: "Reply with the single word OK."}},
		MaxTokens: 16,
	})
	res.Latency = s.now().Sub(start)
	if err != nil {
		var le *llm.Error
		if !errors.As(err, &le) {
			le = &llm.Error{Kind: llm.ErrUnavailable, Provider: st.Provider, Message: "the provider could not be reached"}
			s.logger.WarnContext(ctx, "llm test failed", "org_id", a.OrgID, "err", err)
		}
		res.ErrorCode, res.ErrorText = ErrorCode(le), le.Message
		return res, nil
	}
	res.OK, res.Reply, res.Model = true, out.Content, out.Model
	if res.Model == "" {
		res.Model = st.Model
	}
	return res, nil
}

// ErrorCode is the stable API code for an LLM failure.
func ErrorCode(e *llm.Error) string {
	switch {
	case errors.Is(e, llm.ErrInvalidKey):
		return "llm_invalid_key"
	case errors.Is(e, llm.ErrModelNotFound):
		return "llm_model_not_found"
	case errors.Is(e, llm.ErrQuota):
		return "llm_quota_exceeded"
	case errors.Is(e, llm.ErrRateLimited):
		return "llm_rate_limited"
	case errors.Is(e, llm.ErrUnavailable):
		return "llm_unavailable"
	case errors.Is(e, llm.ErrInvalidOutput):
		return "llm_invalid_output"
	case errors.Is(e, llm.ErrNotConfigured):
		return "llm_not_configured"
	default:
		return "llm_bad_request"
	}
}

// UsageRow is one day's usage for a provider, model and operation.
type UsageRow struct {
	Day              time.Time `bun:"day"`
	Provider         string    `bun:"provider"`
	Model            string    `bun:"model"`
	Operation        string    `bun:"operation"`
	Calls            int64     `bun:"calls"`
	Errors           int64     `bun:"errors"`
	PromptTokens     int64     `bun:"prompt_tokens"`
	CompletionTokens int64     `bun:"completion_tokens"`
}

// MaxUsageDays bounds one usage query.
const MaxUsageDays = 366

// Usage returns daily usage between from and to (inclusive, UTC days).
func (s *Service) Usage(ctx context.Context, a access.Actor, from, to time.Time) ([]UsageRow, error) {
	if to.Before(from) {
		return nil, fault.Invalid(fault.FieldError{Field: "/query/to", Code: "range_order", Message: "must not be before from"})
	}
	if to.Sub(from) > MaxUsageDays*24*time.Hour {
		return nil, fault.Invalid(fault.FieldError{Field: "/query/from", Code: "range_too_long", Message: fmt.Sprintf("a query covers at most %d days", MaxUsageDays)})
	}
	var rows []UsageRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		return tx.NewSelect().Table("llm_usage_daily").
			Column("day", "provider", "model", "operation", "calls", "errors", "prompt_tokens", "completion_tokens").
			Where("org_id = ? AND day BETWEEN ? AND ?", a.OrgID, from.Format(time.DateOnly), to.Format(time.DateOnly)).
			OrderExpr("day DESC, provider, model, operation").Scan(ctx, &rows)
	})
	if err != nil {
		return nil, fmt.Errorf("llmsettings: usage of %s: %w", a.OrgID, database.Interpret(err))
	}
	return rows, nil
}

// record adds one call to the organisation's usage of the day (UTC) and
// returns once that is written; concurrent calls share a write (meter).
func (s *Service) record(ctx context.Context, orgID uuid.UUID, op string, meta llm.Meta, provider, model string, failed bool) {
	if meta.Provider != "" {
		provider = meta.Provider
	}
	if meta.Model != "" {
		model = meta.Model
	}
	s.meter.add(usageKey{org: orgID, day: s.now().UTC().Format(time.DateOnly), provider: provider, model: model, operation: op},
		failed, meta.Usage.PromptTokens, meta.Usage.CompletionTokens)
}

// metered wraps a provider: it applies the org's temperature and records
// every call's usage.
type metered struct {
	llm.Provider
	s           *Service
	orgID       uuid.UUID
	temperature *float64
	model       string
}

func (m *metered) chat(ctx context.Context, op string, req llm.ChatRequest) (llm.ChatResult, error) {
	if req.Temperature == nil {
		req.Temperature = m.temperature
	}
	res, err := m.Provider.Chat(ctx, req)
	m.s.record(ctx, m.orgID, op, res.Meta, m.Name(), m.model, err != nil)
	return res, err
}

// Chat implements llm.Provider.
func (m *metered) Chat(ctx context.Context, req llm.ChatRequest) (llm.ChatResult, error) {
	return m.chat(ctx, "chat", req)
}

// ChatStream implements llm.Provider; usage is recorded when the stream ends.
func (m *metered) ChatStream(ctx context.Context, req llm.ChatRequest) iter.Seq2[llm.StreamChunk, error] {
	if req.Temperature == nil {
		req.Temperature = m.temperature
	}
	return func(yield func(llm.StreamChunk, error) bool) {
		var last llm.Meta
		failed := false
		defer func() { m.s.record(ctx, m.orgID, "chat_stream", last, m.Name(), m.model, failed) }()
		for chunk, err := range m.Provider.ChatStream(ctx, req) {
			if err != nil {
				failed = true
			}
			if chunk.Done {
				last = chunk.Meta
			}
			if !yield(chunk, err) {
				return
			}
		}
	}
}

// GenerateSequence implements llm.Provider.
func (m *metered) GenerateSequence(ctx context.Context, req llm.SequenceRequest) (llm.SequenceResult, error) {
	res, err := m.Provider.GenerateSequence(ctx, req)
	m.s.record(ctx, m.orgID, "generate_sequence", res.Meta, m.Name(), m.model, err != nil)
	return res, err
}

// ClassifyReply implements llm.Provider.
func (m *metered) ClassifyReply(ctx context.Context, reply llm.Reply, original *llm.Original) (llm.ClassifyResult, error) {
	res, err := m.Provider.ClassifyReply(ctx, reply, original)
	m.s.record(ctx, m.orgID, "classify_reply", res.Meta, m.Name(), m.model, err != nil)
	return res, err
}

// Extract implements llm.Provider.
func (m *metered) Extract(ctx context.Context, schema llm.Schema, conversation []llm.Message) (llm.ExtractResult, error) {
	res, err := m.Provider.Extract(ctx, schema, conversation)
	m.s.record(ctx, m.orgID, "extract", res.Meta, m.Name(), m.model, err != nil)
	return res, err
}
