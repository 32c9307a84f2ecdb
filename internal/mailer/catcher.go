package mailer

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Caught is a message the Catcher kept.
type Caught struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html,omitempty"`
	Links   []string  `json:"links"`
	SentAt  time.Time `json:"sent_at"`
}

// Catcher is the development mailer: nothing leaves the process. It keeps
// the last Size messages (older ones fall out) for GET /dev/mail and logs
// each with its links, so a developer can follow a verification or reset
// link from the log.
type Catcher struct {
	logger *slog.Logger
	now    func() time.Time

	mu   sync.Mutex
	ring []Caught // ring[next] is the oldest once full
	next int
	full bool
}

// NewCatcher keeps the last size messages (at least 1).
func NewCatcher(size int, logger *slog.Logger) *Catcher {
	return &Catcher{logger: logger, now: time.Now, ring: make([]Caught, max(size, 1))}
}

// Send keeps m and logs it; it never fails.
func (c *Catcher) Send(ctx context.Context, m Message) error {
	msg := Caught{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Links: Links(m.Text), SentAt: c.now().UTC()}
	if msg.Links == nil {
		msg.Links = []string{}
	}
	c.mu.Lock()
	c.ring[c.next] = msg
	c.next = (c.next + 1) % len(c.ring)
	if c.next == 0 {
		c.full = true
	}
	c.mu.Unlock()
	if c.logger != nil {
		c.logger.InfoContext(ctx, "mail caught (development: not sent; see GET /dev/mail)",
			"to", msg.To, "subject", msg.Subject, "links", msg.Links)
	}
	return nil
}

// Messages returns the kept messages, newest first.
func (c *Catcher) Messages() []Caught {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.next
	if c.full {
		n = len(c.ring)
	}
	out := make([]Caught, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, c.ring[(c.next-i+len(c.ring))%len(c.ring)])
	}
	return out
}

// ServeHTTP lists the kept messages as JSON, newest first. Mount it only
// in development: the messages hold live secrets.
func (c *Catcher) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": c.Messages()})
}
