// Package password owns how Facet stores and judges passwords: argon2id hashes in the PHC
// string format, and the policy a new password must meet. It has no HTTP: the account pages,
// the login and the command line all call it. It does not know accounts or throttles.
package password

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's first recommended set (m=19 MiB, t=2, p=1).
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Password policy (NIST SP 800-63B 3.1.1.2, OWASP ASVS 5.0 V6.2): a length range counted in
// characters, no composition rules, no truncation, and a list of common passwords.
const (
	minLen = 8
	maxLen = 128
)

// hashSlots bounds how many argon2id hashes run at once: each takes 19 MiB and a core for tens
// of milliseconds, so an unbounded burst of logins could exhaust memory. Hash and Check are
// plain functions (the CLI calls them too), so the semaphore is the one package-level value;
// it holds no data.
var hashSlots = make(chan struct{}, max(1, runtime.NumCPU()))

// HashMemory is the most memory the password hashes running at once can hold (in
// bytes, at Facet's parameters): the server sizes its soft memory limit with it.
func HashMemory() uint64 {
	return uint64(cap(hashSlots)) * argonMemory * 1024
}

// argonKey derives the key under the semaphore.
func argonKey(pw string, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(pw), salt, time, memory, threads, keyLen)
}

// Hash returns the argon2id hash of pw as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
// It does not check the policy; see Policy.
func Hash(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argonKey(pw, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errBadHash: the stored hash is not a PHC argon2id string we can verify.
var errBadHash = errors.New("password hash is not a supported argon2id PHC string")

// Check reports whether pw matches hash (a PHC argon2id string, with the parameters
// it records). The comparison takes constant time. An error means the hash is malformed.
func Check(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, errBadHash
	}
	// Refuse parameters that would let a tampered row exhaust the node.
	if memory < 1024 || memory > 1<<20 || time < 1 || time > 16 || threads < 1 || threads > 16 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got := argonKey(pw, salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// commonPasswordList is a list of widely used passwords (one a line, lower case), the kind
// that tops every published breach ranking. A password on it is guessed in the first seconds
// of any attack.
//
//go:embed common-passwords.txt
var commonPasswordList []byte

// Policy judges a new password: length in characters and the common-passwords list. Build
// it once with NewPolicy; it is safe for concurrent use.
type Policy struct {
	common map[string]struct{}
}

// NewPolicy parses the common-passwords list.
func NewPolicy() *Policy {
	return &Policy{common: commonPasswords()}
}

// commonPasswords parses commonPasswordList into a set.
func commonPasswords() map[string]struct{} {
	set := make(map[string]struct{}, 1024)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordList))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
}

// Check returns the message key (templates) of the rule pw breaks, or "" when pw is fine.
func (p *Policy) Check(pw string) string {
	if !utf8.ValidString(pw) {
		return "register.password_invalid"
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case n < minLen:
		return "register.password_short"
	case n > maxLen:
		return "register.password_long"
	}
	if _, ok := p.common[strings.ToLower(pw)]; ok {
		return "register.password_common"
	}
	return ""
}
