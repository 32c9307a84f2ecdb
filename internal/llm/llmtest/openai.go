package llmtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// NewOpenAI starts a fake of the OpenAI Chat Completions API, which
// DeepSeek and Groq speak too. Point a provider at OpenAIBaseURL(s).
// Like the real API it answers 401 for a missing or wrong bearer token
// (code invalid_api_key), 404 for other paths, 400 without model or
// messages, and 400 for JSON mode when no message mentions JSON.
// Unscripted requests get a short text answer, streamed when asked.
func NewOpenAI(t testing.TB, key string) *Server {
	return newServer(t, func(r Request) *Reply {
		switch {
		case r.Path != "/v1/chat/completions":
			return ptr(OpenAIError(http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.Path), "invalid_request_error", ""))
		case r.Method != http.MethodPost:
			return ptr(OpenAIError(http.StatusMethodNotAllowed, "Method not allowed", "invalid_request_error", ""))
		case r.Header.Get("Authorization") == "":
			return ptr(OpenAIError(http.StatusUnauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", ""))
		case r.Header.Get("Authorization") != "Bearer "+key:
			return ptr(OpenAIError(http.StatusUnauthorized, "Incorrect API key provided: "+mask(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))+". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"))
		}
		body, ok := jsonBody(r.Body)
		if !ok {
			return ptr(OpenAIError(http.StatusBadRequest, "We could not parse the JSON body of your request.", "invalid_request_error", ""))
		}
		if _, ok := body["model"].(string); !ok {
			return ptr(OpenAIError(http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", ""))
		}
		msgs, ok := body["messages"].([]any)
		if !ok || len(msgs) == 0 {
			return ptr(OpenAIError(http.StatusBadRequest, "Missing required parameter: 'messages'.", "invalid_request_error", "missing_required_parameter"))
		}
		if rf, _ := body["response_format"].(map[string]any); rf["type"] == "json_object" && !strings.Contains(strings.ToLower(string(r.Body)), "json") {
			return ptr(OpenAIError(http.StatusBadRequest, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", "invalid_request_error", ""))
		}
		return nil
	}, func(r Request) Reply {
		body, _ := jsonBody(r.Body)
		model, _ := body["model"].(string)
		if stream, _ := body["stream"].(bool); stream {
			return OpenAIStream(model, []string{"Hello", " from the fake."}, 10, 4)
		}
		return OpenAIChat(model, "Hello from the fake.", 10, 4)
	})
}

// OpenAIBaseURL is the base URL to configure for s, like
// https://api.openai.com/v1.
func OpenAIBaseURL(s *Server) string { return s.URL + "/v1" }

// OpenAIChat is a chat.completion answer with one choice.
func OpenAIChat(model, content string, promptTokens, completionTokens int) Reply {
	return Reply{Header: map[string]string{"x-request-id": "req_fake"}, Body: mustJSON(map[string]any{
		"id":      "chatcmpl-fake",
		"object":  "chat.completion",
		"created": 1767225600,
		"model":   model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": content, "refusal": nil},
			"logprobs":      nil,
			"finish_reason": "stop",
		}},
		"usage": map[string]any{
			"prompt_tokens":     promptTokens,
			"completion_tokens": completionTokens,
			"total_tokens":      promptTokens + completionTokens,
		},
		"system_fingerprint": "fp_fake",
	})}
}

// OpenAIStream is a streamed answer: a role chunk, one chunk per delta, a
// finish chunk, the usage chunk (empty choices, sent because the request
// asks for stream_options.include_usage) and data: [DONE].
func OpenAIStream(model string, deltas []string, promptTokens, completionTokens int) Reply {
	chunks := openAIDeltas(model, deltas)
	chunks = append(chunks,
		openAIChunk(model, openAIChoice(map[string]any{}, "stop"), nil),
		openAIChunk(model, []any{}, map[string]any{
			"prompt_tokens":     promptTokens,
			"completion_tokens": completionTokens,
			"total_tokens":      promptTokens + completionTokens,
		}),
		sse("", "[DONE]"),
	)
	return Reply{Chunks: chunks}
}

// OpenAIStreamError is a stream that fails mid-answer, as the API does
// when the model or server breaks down after the 200: the role chunk and
// the deltas, then an error event with the usual error body,
// data: {"error":{"message":...,"type":...,"param":null,"code":...}}, and
// the end of the body without data: [DONE]. An empty code is sent as null.
func OpenAIStreamError(model string, deltas []string, message, errorType, code string) Reply {
	chunks := append(openAIDeltas(model, deltas), sse("", openAIErrorBody(message, errorType, code)))
	return Reply{Chunks: chunks}
}

// OpenAIStreamCut is a stream cut off mid-answer (a dropped connection or
// a proxy's timeout): the role chunk and the deltas, then the end of the
// body with no finish chunk and no data: [DONE].
func OpenAIStreamCut(model string, deltas []string) Reply {
	return Reply{Chunks: openAIDeltas(model, deltas)}
}

// openAIDeltas is the start of a stream: the role chunk and one chunk per
// delta.
func openAIDeltas(model string, deltas []string) []string {
	chunks := []string{openAIChunk(model, openAIChoice(map[string]any{"role": "assistant", "content": ""}, nil), nil)}
	for _, d := range deltas {
		chunks = append(chunks, openAIChunk(model, openAIChoice(map[string]any{"content": d}, nil), nil))
	}
	return chunks
}

func openAIChunk(model string, choices []any, usage any) string {
	return sse("", map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1767225600,
		"model": model, "system_fingerprint": "fp_fake", "choices": choices, "usage": usage,
	})
}

func openAIChoice(delta map[string]any, finish any) []any {
	return []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
}

// OpenAIError is the API's error answer:
// {"error":{"message":...,"type":...,"param":null,"code":...}}; an empty
// code is sent as null, as the API does.
func OpenAIError(status int, message, errorType, code string) Reply {
	return Reply{Status: status, Body: mustJSON(openAIErrorBody(message, errorType, code))}
}

func openAIErrorBody(message, errorType, code string) map[string]any {
	var c any
	if code != "" {
		c = code
	}
	return map[string]any{
		"error": map[string]any{"message": message, "type": errorType, "param": nil, "code": c},
	}
}

// mask hides a key the way OpenAI echoes a rejected one.
func mask(key string) string {
	if len(key) <= 8 {
		return "****"
	}
	return key[:3] + strings.Repeat("*", 4) + key[len(key)-4:]
}
