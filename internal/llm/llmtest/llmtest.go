// Package llmtest runs local fakes of the LLM providers' HTTP APIs for
// tests: Anthropic's Messages API, the OpenAI-style Chat Completions API
// (OpenAI, DeepSeek, Groq) and Gemini's generateContent. Each fake checks
// what a real server checks before answering (path, method, auth header,
// API version, body shape) and answers rejects with that provider's own
// error body, so a test that passes against the fake sends what the real
// API accepts. Tests script the answers with Enqueue and read what was sent
// with Requests.
package llmtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Request is one request a fake received, rejected ones included.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// JSON decodes the request body into a generic map, failing the test when
// the body is not a JSON object.
func (r Request) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("llmtest: request body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Reply is one scripted answer. Chunks, when set, are written one by one
// with a flush after each, as a server-sent event stream arrives; otherwise
// Body is written whole.
type Reply struct {
	Status      int
	Header      map[string]string
	ContentType string
	Body        string
	Chunks      []string
	// Stall keeps the answer open after Body or Chunks, as a provider
	// that stops sending mid-answer, until the client goes away. It can
	// never hang a test: it also ends when the fake shuts down at cleanup
	// or after StallLimit.
	Stall bool
}

// StallLimit bounds how long a stalled answer is held open.
const StallLimit = 10 * time.Second

// Server is a fake provider API on a local httptest server.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	requests []Request
	replies  []Reply

	// quit is closed at cleanup, releasing stalled answers so that
	// closing the server does not wait for them.
	quit     chan struct{}
	quitOnce sync.Once

	// reject answers like the real API would to a malformed or
	// unauthenticated request; nil means the request is acceptable.
	reject func(r Request) *Reply
	// fallback answers an acceptable request when nothing is scripted.
	fallback func(r Request) Reply
}

func newServer(t testing.TB, reject func(Request) *Reply, fallback func(Request) Reply) *Server {
	t.Helper()
	s := &Server{reject: reject, fallback: fallback, quit: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Close releases stalled answers and shuts the fake down; it runs at the
// test's cleanup and may be called earlier.
func (s *Server) Close() {
	s.quitOnce.Do(func() { close(s.quit) })
	s.Server.Close()
}

// Enqueue scripts the next answers, used in order; requests the API would
// reject are answered by the fake's own checks and do not consume them.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}

	s.mu.Lock()
	s.requests = append(s.requests, req)
	var reply Reply
	if rej := s.reject(req); rej != nil {
		reply = *rej
	} else if len(s.replies) > 0 {
		reply = s.replies[0]
		s.replies = s.replies[1:]
	} else {
		reply = s.fallback(req)
	}
	s.mu.Unlock()

	write(w, reply)
	if reply.Stall {
		timer := time.NewTimer(StallLimit)
		defer timer.Stop()
		select {
		case <-r.Context().Done():
		case <-s.quit:
		case <-timer.C:
		}
	}
}

func write(w http.ResponseWriter, reply Reply) {
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	ct := reply.ContentType
	switch {
	case ct != "":
	case reply.Chunks != nil:
		ct = "text/event-stream"
	default:
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	flusher, _ := w.(http.Flusher)
	if reply.Chunks == nil {
		_, _ = io.WriteString(w, reply.Body)
		if reply.Stall && flusher != nil {
			flusher.Flush()
		}
		return
	}
	for _, c := range reply.Chunks {
		_, _ = io.WriteString(w, c)
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// jsonBody decodes a request body, reporting whether it is a JSON object.
func jsonBody(body []byte) (map[string]any, bool) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// mustJSON renders a wire-format answer built by this package.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("llmtest: " + err.Error())
	}
	return string(b)
}

// sse renders one server-sent event; an empty event name writes only data.
func sse(event string, data any) string {
	payload, ok := data.(string)
	if !ok {
		payload = mustJSON(data)
	}
	if event == "" {
		return "data: " + payload + "\n\n"
	}
	return "event: " + event + "\ndata: " + payload + "\n\n"
}
