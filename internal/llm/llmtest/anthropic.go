package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// AnthropicVersion is the API version header value the real API requires.
const AnthropicVersion = "2023-06-01"

// NewAnthropic starts a fake of Anthropic's Messages API (POST /v1/messages)
// accepting only key in x-api-key. Like the real API it answers 401
// authentication_error for a missing or wrong key, 400 invalid_request_error
// without anthropic-version, without model, max_tokens and messages, or
// with a temperature outside 0..1, and 404 for other paths. Unscripted requests get a short text answer.
func NewAnthropic(t testing.TB, key string) *Server {
	return newServer(t, func(r Request) *Reply {
		switch {
		case r.Path != "/v1/messages":
			return ptr(AnthropicError(http.StatusNotFound, "not_found_error", "Not Found"))
		case r.Method != http.MethodPost:
			return ptr(AnthropicError(http.StatusMethodNotAllowed, "invalid_request_error", "Method Not Allowed"))
		case r.Header.Get("X-Api-Key") == "":
			return ptr(AnthropicError(http.StatusUnauthorized, "authentication_error", "x-api-key header is required"))
		case r.Header.Get("X-Api-Key") != key:
			return ptr(AnthropicError(http.StatusUnauthorized, "authentication_error", "invalid x-api-key"))
		case r.Header.Get("Anthropic-Version") == "":
			return ptr(AnthropicError(http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required"))
		}
		body, ok := jsonBody(r.Body)
		if !ok {
			return ptr(AnthropicError(http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request"))
		}
		for _, field := range []string{"model", "max_tokens", "messages"} {
			if _, ok := body[field]; !ok {
				return ptr(AnthropicError(http.StatusBadRequest, "invalid_request_error", field+": Field required"))
			}
		}
		if temp, ok := body["temperature"]; ok {
			// Anthropic takes temperature in 0.0-1.0 only, unlike the
			// OpenAI-style APIs' 0-2.
			if t, isNum := temp.(float64); !isNum || t < 0 || t > 1 {
				return ptr(AnthropicError(http.StatusBadRequest, "invalid_request_error", "temperature: range: 0..1"))
			}
		}
		return nil
	}, func(r Request) Reply {
		body, _ := jsonBody(r.Body)
		model, _ := body["model"].(string)
		if stream, _ := body["stream"].(bool); stream {
			return AnthropicStream(model, []string{"Hello", " from the fake."}, 10, 4)
		}
		return AnthropicText(model, "Hello from the fake.", 10, 4)
	})
}

// AnthropicText is a Messages API answer with one text block.
func AnthropicText(model, text string, inputTokens, outputTokens int) Reply {
	return Reply{Header: map[string]string{"request-id": "req_fake"}, Body: mustJSON(map[string]any{
		"id":            "msg_fake",
		"type":          "message",
		"role":          "assistant",
		"model":         model,
		"content":       []any{map[string]any{"type": "text", "text": text}},
		"stop_reason":   "end_turn",
		"stop_sequence": nil,
		"usage":         map[string]any{"input_tokens": inputTokens, "output_tokens": outputTokens},
	})}
}

// AnthropicToolUse is a Messages API answer calling tool name with input,
// which must be a JSON object as the real API always sends one.
func AnthropicToolUse(model, name, input string, inputTokens, outputTokens int) Reply {
	if !json.Valid([]byte(input)) {
		panic(fmt.Sprintf("llmtest: tool input must be valid JSON: %s", input))
	}
	return Reply{Header: map[string]string{"request-id": "req_fake"}, Body: mustJSON(map[string]any{
		"id":    "msg_fake",
		"type":  "message",
		"role":  "assistant",
		"model": model,
		"content": []any{map[string]any{
			"type":  "tool_use",
			"id":    "toolu_fake",
			"name":  name,
			"input": json.RawMessage(input),
		}},
		"stop_reason":   "tool_use",
		"stop_sequence": nil,
		"usage":         map[string]any{"input_tokens": inputTokens, "output_tokens": outputTokens},
	})}
}

// AnthropicStream is a streamed Messages API answer: message_start (input
// usage), a text content block whose deltas are the given pieces, a ping,
// message_delta (output usage) and message_stop, as the real API sends them.
func AnthropicStream(model string, deltas []string, inputTokens, outputTokens int) Reply {
	chunks := []string{
		sse("message_start", map[string]any{"type": "message_start", "message": map[string]any{
			"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
			"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": inputTokens, "output_tokens": 1},
		}}),
		sse("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}),
		sse("ping", map[string]any{"type": "ping"}),
	}
	for _, d := range deltas {
		chunks = append(chunks, sse("content_block_delta", map[string]any{
			"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": d},
		}))
	}
	chunks = append(chunks,
		sse("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}),
		sse("message_delta", map[string]any{
			"type":  "message_delta",
			"delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": outputTokens},
		}),
		sse("message_stop", map[string]any{"type": "message_stop"}),
	)
	return Reply{Header: map[string]string{"request-id": "req_fake"}, Chunks: chunks}
}

// AnthropicStreamCut is a streamed answer cut off mid-answer (a dropped
// connection or a proxy's timeout): message_start, the text block's start
// and its deltas, then the end of the body with no message_stop.
func AnthropicStreamCut(model string, deltas []string, inputTokens int) Reply {
	full := AnthropicStream(model, deltas, inputTokens, 0)
	// Drop content_block_stop, message_delta and message_stop.
	full.Chunks = full.Chunks[:len(full.Chunks)-3]
	return full
}

// AnthropicError is the API's error answer:
// {"type":"error","error":{"type":...,"message":...},"request_id":...}.
func AnthropicError(status int, errorType, message string) Reply {
	return Reply{Status: status, Header: map[string]string{"request-id": "req_fake"}, Body: mustJSON(map[string]any{
		"type":       "error",
		"error":      map[string]any{"type": errorType, "message": message},
		"request_id": "req_fake",
	})}
}

func ptr[T any](v T) *T { return &v }
