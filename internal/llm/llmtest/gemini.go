package llmtest

import (
	"net/http"
	"strings"
	"testing"
)

// NewGemini starts a fake of the Gemini API's generateContent and
// streamGenerateContent (POST /v1beta/models/{model}:method), accepting key
// in x-goog-api-key or the key query parameter. Like the real API it
// answers 403 PERMISSION_DENIED without a key, 400 INVALID_ARGUMENT with
// reason API_KEY_INVALID for a wrong one, 404 for other paths, 400 for a
// stream without alt=sse (this fake speaks SSE only) or a body without
// contents. Unscripted requests get a short text answer.
func NewGemini(t testing.TB, key string) *Server {
	return newServer(t, func(r Request) *Reply {
		model, method, ok := geminiPath(r.Path)
		switch {
		case !ok:
			return ptr(GeminiError(http.StatusNotFound, "NOT_FOUND", "Requested entity was not found."))
		case r.Method != http.MethodPost:
			return ptr(GeminiError(http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "Method not allowed"))
		}
		got := r.Header.Get("X-Goog-Api-Key")
		if got == "" {
			got = r.Query.Get("key")
		}
		switch {
		case got == "":
			return ptr(GeminiError(http.StatusForbidden, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."))
		case got != key:
			return ptr(GeminiError(http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", map[string]any{
				"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
				"reason":   "API_KEY_INVALID",
				"domain":   "googleapis.com",
				"metadata": map[string]any{"service": "generativelanguage.googleapis.com"},
			}))
		case method == "streamGenerateContent" && r.Query.Get("alt") != "sse":
			return ptr(GeminiError(http.StatusBadRequest, "INVALID_ARGUMENT", "this fake streams server-sent events only: add alt=sse"))
		case model == "":
			return ptr(GeminiError(http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.model: unexpected model name format"))
		}
		body, ok := jsonBody(r.Body)
		if !ok {
			return ptr(GeminiError(http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received."))
		}
		if contents, _ := body["contents"].([]any); len(contents) == 0 {
			return ptr(GeminiError(http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"))
		}
		return nil
	}, func(r Request) Reply {
		model, method, _ := geminiPath(r.Path)
		if method == "streamGenerateContent" {
			return GeminiStream(model, []string{"Hello", " from the fake."}, 10, 4)
		}
		return GeminiText(model, "Hello from the fake.", 10, 4)
	})
}

// geminiPath splits /v1beta/models/{model}:{method}.
func geminiPath(path string) (model, method string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v1beta/models/")
	if !found {
		return "", "", false
	}
	model, method, found = strings.Cut(rest, ":")
	if !found || (method != "generateContent" && method != "streamGenerateContent") {
		return "", "", false
	}
	return model, method, true
}

// GeminiText is a generateContent answer with one candidate holding text.
func GeminiText(model, text string, promptTokens, candidateTokens int) Reply {
	return Reply{Body: mustJSON(geminiResponse(model, text, "STOP", geminiUsage(promptTokens, candidateTokens)))}
}

// GeminiStream is a streamGenerateContent?alt=sse answer: one event per
// delta, each a GenerateContentResponse; the last carries finishReason and
// the usage totals.
func GeminiStream(model string, deltas []string, promptTokens, candidateTokens int) Reply {
	var chunks []string
	for i, d := range deltas {
		finish := ""
		usage := map[string]any{"promptTokenCount": promptTokens, "totalTokenCount": promptTokens}
		if i == len(deltas)-1 {
			finish = "STOP"
			usage = geminiUsage(promptTokens, candidateTokens)
		}
		// The API separates events with CRLF pairs.
		chunks = append(chunks, "data: "+mustJSON(geminiResponse(model, d, finish, usage))+"\r\n\r\n")
	}
	return Reply{Chunks: chunks}
}

// GeminiStreamCut is a streamGenerateContent?alt=sse answer cut off
// mid-answer: one event per delta, none with a finishReason (which only
// the last event of a whole answer carries).
func GeminiStreamCut(model string, deltas []string, promptTokens int) Reply {
	var chunks []string
	for _, d := range deltas {
		usage := map[string]any{"promptTokenCount": promptTokens, "totalTokenCount": promptTokens}
		chunks = append(chunks, "data: "+mustJSON(geminiResponse(model, d, "", usage))+"\r\n\r\n")
	}
	return Reply{Chunks: chunks}
}

func geminiResponse(model, text, finish string, usage map[string]any) map[string]any {
	cand := map[string]any{
		"content": map[string]any{"parts": []any{map[string]any{"text": text}}, "role": "model"},
		"index":   0,
	}
	if finish != "" {
		cand["finishReason"] = finish
	}
	return map[string]any{
		"candidates":    []any{cand},
		"usageMetadata": usage,
		"modelVersion":  model,
		"responseId":    "resp_fake",
	}
}

func geminiUsage(prompt, candidates int) map[string]any {
	return map[string]any{
		"promptTokenCount":     prompt,
		"candidatesTokenCount": candidates,
		"totalTokenCount":      prompt + candidates,
	}
}

// GeminiError is the API's error answer:
// {"error":{"code":...,"message":...,"status":...,"details":[...]}}.
func GeminiError(code int, status, message string, details ...map[string]any) Reply {
	e := map[string]any{"code": code, "message": message, "status": status}
	if len(details) > 0 {
		d := make([]any, len(details))
		for i, x := range details {
			d[i] = x
		}
		e["details"] = d
	}
	return Reply{Status: code, Body: mustJSON(map[string]any{"error": e})}
}

// GeminiRateLimited is the 429 RESOURCE_EXHAUSTED answer for a per-minute
// rate limit. Like the real API it states the wait only in the body, in a
// google.rpc.RetryInfo detail (retryDelay like "43s" or "45.8s"), and sends
// no Retry-After header.
func GeminiRateLimited(retryDelay string) Reply {
	return GeminiError(http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
		"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"+
			"* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10\n"+
			"Please retry in "+retryDelay+".",
		map[string]any{
			"@type": "type.googleapis.com/google.rpc.QuotaFailure",
			"violations": []any{map[string]any{
				"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
				"quotaId":     "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
				"quotaValue":  "10",
			}},
		},
		map[string]any{
			"@type": "type.googleapis.com/google.rpc.Help",
			"links": []any{map[string]any{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}},
		},
		map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retryDelay},
	)
}

// GeminiQuotaExceeded is the 429 RESOURCE_EXHAUSTED answer for a daily
// (per-day) quota, with the QuotaFailure and RetryInfo details the API
// attaches.
func GeminiQuotaExceeded() Reply {
	return GeminiError(http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
		"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
		map[string]any{
			"@type": "type.googleapis.com/google.rpc.QuotaFailure",
			"violations": []any{map[string]any{
				"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
				"quotaId":     "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
				"quotaValue":  "250",
			}},
		},
		map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "43s"},
	)
}
