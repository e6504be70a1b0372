package storagetest

import (
	"context"
	"testing"

	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/storage"
)

// testRevokeFamilyOfToken: RevokeFamilyOfToken finds a token's family by
// any of its tokens, live, spent or retired, revokes it only for the
// client it was issued to, and says what it did (RFC 7009 §2.1).
func testRevokeFamilyOfToken(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := f.request("fam-1", subject)
	f.issue(t, r, "at-0", "rt-0")
	if err := Rotate(ctx, f.s, r, "rt-0", "at-1", "rt-1"); err != nil {
		t.Fatal(err)
	}
	owner := r.GetClient().GetID()
	for _, tc := range []struct {
		name      string
		kind      storage.TokenKind
		signature string
		client    string
		want      storage.Revocation
	}{
		{name: "unknown signature", kind: storage.RefreshTokenKind, signature: "no-such-token", client: owner, want: storage.TokenUnknown},
		{name: "empty signature", kind: storage.AccessTokenKind, signature: "", client: owner, want: storage.TokenUnknown},
		{name: "refresh signature as an access token", kind: storage.AccessTokenKind, signature: "rt-0", client: owner, want: storage.TokenUnknown},
		{name: "spent token, another client", kind: storage.RefreshTokenKind, signature: "rt-0", client: "someone-else", want: storage.TokenOfAnotherClient},
		{name: "retired access token, another client", kind: storage.AccessTokenKind, signature: "at-0", client: "someone-else", want: storage.TokenOfAnotherClient},
		{name: "access token in its refresh token's row, another client", kind: storage.AccessTokenKind, signature: "at-1", client: "someone-else", want: storage.TokenOfAnotherClient},
		{name: "spent token, its client", kind: storage.RefreshTokenKind, signature: "rt-0", client: owner, want: storage.FamilyRevoked},
		{name: "live token of the revoked family", kind: storage.RefreshTokenKind, signature: "rt-1", client: owner, want: storage.FamilyAlreadyRevoked},
		{name: "retired access token of the revoked family", kind: storage.AccessTokenKind, signature: "at-0", client: owner, want: storage.FamilyAlreadyRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.RevokeFamilyOfToken(ctx, tc.kind, tc.signature, tc.client, "test_reason")
			if err != nil || got != tc.want {
				t.Fatalf("RevokeFamilyOfToken = %v, %v; want %v", got, err, tc.want)
			}
			if tc.want == storage.TokenOfAnotherClient {
				f.refreshState(t, "rt-1", nil)
				f.accessState(t, "at-1", nil)
			}
		})
	}
	f.refreshState(t, "rt-1", fosite.ErrInactiveToken)
	f.accessState(t, "at-1", fosite.ErrInactiveToken)
	if fam := f.family(t, subject, "fam-1"); fam.RevokedAt == nil || fam.RevokedReason != "test_reason" {
		t.Errorf("family revoked at %v for %q, want test_reason", fam.RevokedAt, fam.RevokedReason)
	}
}
