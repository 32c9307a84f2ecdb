package notifications

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// Preference names (the spec's users.notification_preferences keys).
const (
	PrefEmailReplies    = "email_replies"
	PrefWhatsAppReplies = "whatsapp_replies"
	PrefSMSReplies      = "sms_replies"
	PrefDailyDigest     = "daily_digest"
	PrefBrowserPush     = "browser_push"
)

// Defaults are every preference with its value for a user who never set it
// (the column's default in the foundation migration).
func Defaults() map[string]bool {
	return map[string]bool{PrefEmailReplies: true, PrefWhatsAppReplies: true, PrefSMSReplies: true, PrefDailyDigest: true, PrefBrowserPush: true}
}

// Preferences returns the acting user's preferences: every key of
// Defaults, the stored value where there is one.
func (s *Service) Preferences(ctx context.Context, a access.Actor) (map[string]bool, error) {
	if err := a.RequireUser("have notification preferences"); err != nil {
		return nil, err
	}
	var raw []byte
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		return tx.NewRaw(`SELECT notification_preferences FROM users WHERE id = ?`, a.UserID).Scan(ctx, &raw)
	})
	if err != nil {
		return nil, fmt.Errorf("notifications: preferences of %s: %w", a.UserID, database.Interpret(err))
	}
	return merge(raw)
}

// UpdatePreferences sets the preferences in change (the others stay) and
// returns them all. A key that is not a preference is refused with 422
// naming it, and nothing changes.
func (s *Service) UpdatePreferences(ctx context.Context, a access.Actor, change map[string]bool) (map[string]bool, error) {
	if err := a.RequireUser("have notification preferences"); err != nil {
		return nil, err
	}
	if err := ValidatePreferences(change); err != nil {
		return nil, err
	}
	patch, err := json.Marshal(change)
	if err != nil {
		return nil, fmt.Errorf("notifications: encode preferences: %w", err)
	}
	var raw []byte
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		// || merges key by key; COALESCE covers a NULL the spec's column allowed.
		return tx.NewRaw(`UPDATE users SET notification_preferences = COALESCE(notification_preferences, '{}'::jsonb) || ?::jsonb,
			updated_at = now() WHERE id = ? RETURNING notification_preferences`, string(patch), a.UserID).Scan(ctx, &raw)
	})
	if err != nil {
		return nil, fmt.Errorf("notifications: update preferences of %s: %w", a.UserID, database.Interpret(err))
	}
	return merge(raw)
}

// ValidatePreferences refuses keys that are not preferences (422, one
// field error each).
func ValidatePreferences(change map[string]bool) error {
	var f fault.Fields
	known := Defaults()
	for _, k := range slices.Sorted(maps.Keys(change)) {
		if _, ok := known[k]; !ok {
			f.Add("/"+k, "unknown_preference", "not a notification preference; known: "+strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
	}
	return f.Err()
}

// merge lays the stored preferences over Defaults, keeping only known keys
// with boolean values.
func merge(raw []byte) (map[string]bool, error) {
	out := Defaults()
	if len(raw) == 0 {
		return out, nil
	}
	var stored map[string]any
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, fmt.Errorf("notifications: decode stored preferences: %w", err)
	}
	for k, v := range stored {
		if b, ok := v.(bool); ok {
			if _, known := out[k]; known {
				out[k] = b
			}
		}
	}
	return out, nil
}
