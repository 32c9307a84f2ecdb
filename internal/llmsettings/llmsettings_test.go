package llmsettings_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type bundle struct {
	svc   *llmsettings.Service
	admin access.Actor
}

func setup(t *testing.T, platform llmfactory.Platform) bundle {
	t.Helper()
	owner := testkit.OwnerDB(t)
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	_, err := owner.Pool.Exec(context.Background(), `
		WITH o AS (INSERT INTO organizations (id, name, slug) VALUES ($1, 'LLM Org', $3) RETURNING id),
		     u AS (INSERT INTO users (id, email, password_hash) VALUES ($2, $4, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $5, o.id, u.id, 'owner' FROM o, u`,
		org, user, "llm-"+org.String(), "llm-"+org.String()+"@example.com", uuid.Must(uuid.NewV7()))
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(map[string][]byte{"k": make([]byte, 32)}, "k")
	require.NoError(t, err)
	svc := llmsettings.NewService(testkit.DB(t), kr, platform, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return bundle{svc: svc, admin: access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner}}
}

func usage(t *testing.T, b bundle) map[string]llmsettings.UsageRow {
	t.Helper()
	today := time.Now().UTC()
	rows, err := b.svc.Usage(context.Background(), b.admin, today.AddDate(0, 0, -1), today.AddDate(0, 0, 1))
	require.NoError(t, err)
	out := map[string]llmsettings.UsageRow{}
	for _, r := range rows {
		out[r.Operation] = r
	}
	return out
}

func TestFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("TheBuiltinProviderIsMeteredPerOperation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, llmfactory.Platform{})
		p, st, err := b.svc.For(ctx, b.admin.OrgID)
		require.NoError(t, err)
		require.True(t, st.Builtin)
		res, err := p.ClassifyReply(ctx, llm.Reply{Subject: "Re: hi", Body: "Please remove me from your list."}, nil)
		require.NoError(t, err)
		require.Equal(t, llm.Unsubscribe, res.Classification)
		_, err = p.ClassifyReply(ctx, llm.Reply{Body: "Sounds good, let's book a call."}, nil)
		require.NoError(t, err)
		u := usage(t, b)
		require.EqualValues(t, 2, u["classify_reply"].Calls)
		require.Equal(t, "builtin", u["classify_reply"].Provider)
	})

	t.Run("ConcurrentCallsOfTwoOrgsAreAllCountedOnReturn", func(t *testing.T) {
		t.Parallel()
		// Group commit: the calls share writes, and each call returns only
		// once its usage is written, so the counts are exact right after.
		a := setup(t, llmfactory.Platform{})
		other := setup(t, llmfactory.Platform{})
		b := bundle{svc: llmsettings.NewService(testkit.DB(t), nil, llmfactory.Platform{}, slog.New(slog.NewTextHandler(io.Discard, nil))), admin: a.admin}
		bo := bundle{svc: b.svc, admin: other.admin}
		const n = 200
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				org := b.admin.OrgID
				if i%4 == 0 {
					org = bo.admin.OrgID
				}
				p, _, err := b.svc.For(ctx, org)
				if !assert.NoError(t, err) {
					return
				}
				_, err = p.ClassifyReply(ctx, llm.Reply{Body: fmt.Sprintf("Sounds good %d, let's talk.", i)}, nil)
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		ua, uo := usage(t, b), usage(t, bo)
		require.EqualValues(t, n-n/4, ua["classify_reply"].Calls)
		require.EqualValues(t, n/4, uo["classify_reply"].Calls)
		require.Positive(t, ua["classify_reply"].PromptTokens)
		require.Zero(t, ua["classify_reply"].Errors)
	})

	t.Run("StreamsAreMeteredWhenTheyEndWithTheOrgsTemperature", func(t *testing.T) {
		t.Parallel()
		fake := llmtest.NewOpenAI(t, "sk-org-stream-1")
		b := setup(t, llmfactory.Platform{BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(fake)}})
		temp := 0.7
		_, err := b.svc.Put(ctx, b.admin, llmsettings.Update{Provider: "openai", APIKey: ptr("sk-org-stream-1"), Temperature: &temp})
		require.NoError(t, err)
		fake.Enqueue(llmtest.OpenAIStream("gpt-test", []string{"Hel", "lo"}, 12, 5))
		p, _, err := b.svc.For(ctx, b.admin.OrgID)
		require.NoError(t, err)
		var text string
		for chunk, err := range p.ChatStream(ctx, llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			require.NoError(t, err)
			text += chunk.Delta
		}
		require.Equal(t, "Hello", text)
		require.InDelta(t, 0.7, fake.Requests()[0].JSON(t)["temperature"], 1e-9)
		u := usage(t, b)
		require.EqualValues(t, 1, u["chat_stream"].Calls)
		require.EqualValues(t, 12, u["chat_stream"].PromptTokens)
		require.EqualValues(t, 5, u["chat_stream"].CompletionTokens)
	})

	t.Run("FailedCallsCountAsErrors", func(t *testing.T) {
		t.Parallel()
		fake := llmtest.NewOpenAI(t, "the-real-key")
		b := setup(t, llmfactory.Platform{BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(fake)}})
		_, err := b.svc.Put(ctx, b.admin, llmsettings.Update{Provider: "openai", APIKey: ptr("sk-not-the-key")})
		require.NoError(t, err)
		p, _, err := b.svc.For(ctx, b.admin.OrgID)
		require.NoError(t, err)
		_, err = p.Chat(ctx, llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
		require.ErrorIs(t, err, llm.ErrInvalidKey)
		u := usage(t, b)
		require.EqualValues(t, 1, u["chat"].Calls)
		require.EqualValues(t, 1, u["chat"].Errors)
	})

	t.Run("ACiphertextMovedToAnotherOrgDoesNotDecrypt", func(t *testing.T) {
		t.Parallel()
		platform := llmfactory.Platform{Keys: map[string]string{llmfactory.OpenAI: "platform-key"}}
		a, other := setup(t, platform), setup(t, platform)
		_, err := a.svc.Put(ctx, a.admin, llmsettings.Update{Provider: "openai", APIKey: ptr("sk-org-a-secret")})
		require.NoError(t, err)
		_, err = other.svc.Put(ctx, other.admin, llmsettings.Update{Provider: "openai"})
		require.NoError(t, err)
		// The additional data binds a ciphertext to its row: copied into
		// another organisation it is an error, never a silent fallback to
		// the platform key nor a use of A's key.
		_, err = testkit.OwnerDB(t).Pool.Exec(ctx, `UPDATE organizations SET llm_api_key_encrypted =
			(SELECT llm_api_key_encrypted FROM organizations WHERE id = $1) WHERE id = $2`, a.admin.OrgID, other.admin.OrgID)
		require.NoError(t, err)
		_, _, err = other.svc.For(ctx, other.admin.OrgID)
		require.ErrorIs(t, err, secrets.ErrDecrypt)
	})
}

func ptr[T any](v T) *T { return &v }
