package fault_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
)

func TestInvalid(t *testing.T) {
	t.Parallel()

	t.Run("OneFieldIsNamedInTheDetail", func(t *testing.T) {
		t.Parallel()
		fe := fault.FieldError{Field: "/email", Code: "invalid_email", Message: "must be an email address"}
		err := fault.Invalid(fe)
		require.Equal(t, fault.KindInvalid, err.Kind)
		require.Equal(t, "validation_failed", err.Code)
		require.Equal(t, "/email: must be an email address", err.Detail)
		require.Equal(t, []fault.FieldError{fe}, err.Fields)
	})
	t.Run("SeveralFieldsAreCountedInTheDetail", func(t *testing.T) {
		t.Parallel()
		err := fault.Invalid(
			fault.FieldError{Field: "/a", Code: "x", Message: "bad"},
			fault.FieldError{Field: "/b", Code: "y", Message: "worse"},
			fault.FieldError{Field: "/c", Code: "z", Message: "worst"},
		)
		require.Equal(t, "3 fields are invalid", err.Detail)
		require.Len(t, err.Fields, 3)
	})
	t.Run("NoFieldsGiveAGenericDetail", func(t *testing.T) {
		t.Parallel()
		err := fault.Invalid()
		require.Equal(t, fault.KindInvalid, err.Kind)
		require.Equal(t, "the request breaks a validation rule", err.Detail)
		require.Empty(t, err.Fields)
	})
}

func TestFields(t *testing.T) {
	t.Parallel()

	t.Run("ErrIsNilWhenNothingWasAdded", func(t *testing.T) {
		t.Parallel()
		var f fault.Fields
		err := f.Err()
		require.NoError(t, err)
		require.True(t, err == nil, "Err must return an untyped nil, got %#v", err)
		require.NoError(t, fault.Fields{}.Err())
	})
	t.Run("ErrCarriesTheFieldsInOrder", func(t *testing.T) {
		t.Parallel()
		var f fault.Fields
		f.Add("/name", "required", "must not be blank")
		f.Add("/settings/send_days/1", "duplicate", `"monday" is repeated`)
		fe, ok := fault.As(f.Err())
		require.True(t, ok)
		require.Equal(t, fault.KindInvalid, fe.Kind)
		require.Equal(t, []fault.FieldError{
			{Field: "/name", Code: "required", Message: "must not be blank"},
			{Field: "/settings/send_days/1", Code: "duplicate", Message: `"monday" is repeated`},
		}, fe.Fields)
		require.Equal(t, "2 fields are invalid", fe.Detail)
	})
	t.Run("ErrWithOneFieldNamesIt", func(t *testing.T) {
		t.Parallel()
		var f fault.Fields
		f.Add("/name", "required", "must not be blank")
		fe, ok := fault.As(f.Err())
		require.True(t, ok)
		require.Equal(t, "/name: must not be blank", fe.Detail)
	})
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		err        *fault.Error
		kind       fault.Kind
		code       string
		detail     string
		retryAfter int
	}{
		"NotFoundNamesTheThing":        {err: fault.NotFound("lead"), kind: fault.KindNotFound, code: "not_found", detail: "lead not found"},
		"ForbiddenKeepsTheDetail":      {err: fault.Forbidden("owners only"), kind: fault.KindForbidden, code: "forbidden", detail: "owners only"},
		"UnauthorizedKeepsTheCode":     {err: fault.Unauthorized("token_expired", "sign in again"), kind: fault.KindUnauthorized, code: "token_expired", detail: "sign in again"},
		"ConflictKeepsTheCode":         {err: fault.Conflict("slug_taken", "taken"), kind: fault.KindConflict, code: "slug_taken", detail: "taken"},
		"BadRequestKeepsTheCode":       {err: fault.BadRequest("bad_json", "not JSON"), kind: fault.KindBadRequest, code: "bad_json", detail: "not JSON"},
		"RateLimitedCarriesRetryAfter": {err: fault.RateLimited("slow down", 7), kind: fault.KindRateLimited, code: "rate_limited", detail: "slow down", retryAfter: 7},
		"UnavailableCarriesRetryAfter": {err: fault.Unavailable("busy", "try again", 2), kind: fault.KindUnavailable, code: "busy", detail: "try again", retryAfter: 2},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.kind, tc.err.Kind)
			require.Equal(t, tc.code, tc.err.Code)
			require.Equal(t, tc.detail, tc.err.Detail)
			require.Equal(t, tc.retryAfter, tc.err.RetryAfter)
			require.Equal(t, tc.code+": "+tc.detail, tc.err.Error())
			require.NoError(t, tc.err.Unwrap())
		})
	}
}

func TestAsAndIsKind(t *testing.T) {
	t.Parallel()

	t.Run("FindsAFaultThroughWrapping", func(t *testing.T) {
		t.Parallel()
		orig := fault.NotFound("campaign")
		err := fmt.Errorf("handler: %w", fmt.Errorf("service: %w", orig))
		fe, ok := fault.As(err)
		require.True(t, ok)
		require.Same(t, orig, fe)
		require.True(t, fault.IsKind(err, fault.KindNotFound))
		require.False(t, fault.IsKind(err, fault.KindForbidden))
	})
	t.Run("FindsAFaultInAJoinedError", func(t *testing.T) {
		t.Parallel()
		err := errors.Join(io.EOF, fault.Conflict("dup", "duplicate"))
		require.True(t, fault.IsKind(err, fault.KindConflict))
	})
	t.Run("PlainErrorsAreNotFaults", func(t *testing.T) {
		t.Parallel()
		for _, err := range []error{nil, io.EOF, fmt.Errorf("wrapped: %w", io.EOF)} {
			fe, ok := fault.As(err)
			require.False(t, ok)
			require.Nil(t, fe)
			for k := fault.KindInvalid; k <= fault.KindUnavailable; k++ {
				require.False(t, fault.IsKind(err, k), "kind %d for %v", k, err)
			}
		}
	})
	t.Run("KindsAreDistinctAndNonZero", func(t *testing.T) {
		t.Parallel()
		kinds := []fault.Kind{
			fault.KindInvalid, fault.KindBadRequest, fault.KindUnauthorized, fault.KindForbidden,
			fault.KindNotFound, fault.KindConflict, fault.KindRateLimited, fault.KindUnavailable,
		}
		seen := map[fault.Kind]bool{}
		for _, k := range kinds {
			require.NotZero(t, k)
			require.False(t, seen[k], "kind %d repeated", k)
			seen[k] = true
		}
	})
}

func TestWithCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: duplicate key value violates unique constraint")

	t.Run("KeepsTheCauseInTheChain", func(t *testing.T) {
		t.Parallel()
		err := fault.Conflict("already_member", "already a member").WithCause(cause)
		require.ErrorIs(t, err, cause)
		require.ErrorIs(t, fmt.Errorf("wrapped: %w", err), cause)
		require.Equal(t, cause, err.Unwrap())
		require.Contains(t, err.Error(), cause.Error())
	})
	t.Run("DoesNotChangeWhatClientsSee", func(t *testing.T) {
		t.Parallel()
		orig := fault.RateLimited("slow down", 3)
		err := orig.WithCause(cause)
		require.Equal(t, orig.Kind, err.Kind)
		require.Equal(t, orig.Code, err.Code)
		require.Equal(t, orig.Detail, err.Detail)
		require.Equal(t, orig.RetryAfter, err.RetryAfter)
		fe, ok := fault.As(fmt.Errorf("wrapped: %w", err))
		require.True(t, ok)
		require.Same(t, err, fe)
		require.True(t, fault.IsKind(err, fault.KindRateLimited))
	})
	t.Run("LeavesTheOriginalUntouched", func(t *testing.T) {
		t.Parallel()
		// Package-level faults are shared; attaching a cause must copy.
		orig := fault.Unauthorized("invalid_credentials", "email or password is wrong")
		err := orig.WithCause(cause)
		require.NotSame(t, orig, err)
		require.NoError(t, orig.Unwrap())
		require.NotErrorIs(t, orig, cause)
		require.Equal(t, "invalid_credentials: email or password is wrong", orig.Error())
	})
	t.Run("KeepsFieldErrors", func(t *testing.T) {
		t.Parallel()
		orig := fault.Invalid(fault.FieldError{Field: "/name", Code: "required", Message: "must not be blank"})
		err := orig.WithCause(cause)
		require.Equal(t, orig.Fields, err.Fields)
	})
}
