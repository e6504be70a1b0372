package storage

import "time"

// tokenRow is the one row shape shared by every table that stores a
// fosite request keyed by a token signature. Raw tokens are never stored:
// Signature is fosite's keyed HMAC (refresh, code) or the JWS signature
// (access token).
type tokenRow struct {
	Signature   string    `gorm:"primaryKey;size:128"`
	RequestID   string    `gorm:"size:64;not null;index"`
	ClientID    string    `gorm:"size:255;not null"`
	Subject     string    `gorm:"size:255;not null;default:''"`
	Active      bool      `gorm:"not null"`
	RequestedAt time.Time `gorm:"not null"`
	ExpiresAt   time.Time `gorm:"not null"` // unindexed: GC scans, the hot path must not pay an index write
	Data        []byte    `gorm:"not null"`
}

// accessTokenRow is an issued access token.
type accessTokenRow struct {
	Row tokenRow `gorm:"embedded"`
}

func (accessTokenRow) TableName() string { return "access_tokens" }

// refreshTokenRow is one link of a token family's rotation chain.
type refreshTokenRow struct {
	Row             tokenRow   `gorm:"embedded"`
	ParentSignature string     `gorm:"size:128;not null;default:''"` // found through request_id: one index less to write
	AccessSignature string     `gorm:"size:128;not null;default:''"`
	RotatedAt       *time.Time // set once the token has been exchanged for its successor
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

// familyRow is one login: every refresh and access token descended from it
// shares its ID (fosite's request ID).
type familyRow struct {
	ID        string    `gorm:"primaryKey;size:64"`
	ClientID  string    `gorm:"size:255;not null"`
	Subject   string    `gorm:"size:255;not null;index"`
	CreatedAt time.Time `gorm:"not null"`
	// LastRefreshedAt is written when the family opens and not updated
	// after: the last refresh is the newest refresh token's requested_at
	// (see Families), so that a rotation writes no family row. The column
	// stays while replicas of an older release may still update it.
	LastRefreshedAt time.Time `gorm:"not null"`
	ExpiresAt       time.Time `gorm:"not null"` // absolute lifetime, never extended
	RevokedAt       *time.Time
	RevokedReason   string `gorm:"size:64;not null;default:''"`
	// SessionID is the browser session (OIDC "sid") that logged in, so
	// that logging out ends the families it created.
	SessionID string `gorm:"size:64;not null;default:'';index"`
}

func (familyRow) TableName() string { return "token_families" }

// userRow is a resource owner who can sign in.
type userRow struct {
	ID           string    `gorm:"primaryKey;size:64"`
	Email        string    `gorm:"size:320;not null;uniqueIndex"`
	PasswordHash string    `gorm:"size:255;not null"`
	CreatedAt    time.Time `gorm:"not null"`
}

func (userRow) TableName() string { return "users" }

// clientRow is a registered OAuth client. List-valued fields are stored
// space-separated: none of their elements may contain a space.
type clientRow struct {
	ID                      string `gorm:"primaryKey;size:255"`
	Name                    string `gorm:"size:255;not null;default:''"`
	SecretHash              []byte
	Public                  bool      `gorm:"not null"`
	FirstParty              bool      `gorm:"not null;default:false"`
	PKCEOptional            bool      `gorm:"not null;default:false"`
	TokenEndpointAuthMethod string    `gorm:"size:64;not null"`
	GrantTypes              string    `gorm:"not null;default:''"`
	ResponseTypes           string    `gorm:"not null;default:''"`
	RedirectURIs            string    `gorm:"not null;default:''"`
	PostLogoutRedirectURIs  string    `gorm:"not null;default:''"`
	Scopes                  string    `gorm:"not null;default:''"`
	Audience                string    `gorm:"not null;default:''"`
	CreatedAt               time.Time `gorm:"not null"`
	// Resources and Introspector decide what the client may learn from
	// introspection (see Client); columns of migration 3.
	Resources    string `gorm:"not null;default:''"`
	Introspector bool   `gorm:"not null;default:false"`
}

func (clientRow) TableName() string { return "clients" }

// signingKeyRow persists a keys.Record; Private is sealed by package keys.
type signingKeyRow struct {
	KID       string    `gorm:"column:kid;primaryKey;size:64"`
	Algorithm string    `gorm:"size:16;not null"`
	State     string    `gorm:"size:16;not null"`
	Private   []byte    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	NotAfter  *time.Time
}

func (signingKeyRow) TableName() string { return "signing_keys" }
