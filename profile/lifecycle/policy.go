package lifecycle

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/facetid/facet/templates"
)

// Policy is the personal data processing policy document served by GET /profile/policy.
type Policy struct {
	// Name is the download's file name.
	Name string
	// ContentType is the document's media type.
	ContentType string
	Body        []byte
}

// maxPolicyBytes bounds the policy file: it is read once, at start, and kept in memory.
const maxPolicyBytes = 20 << 20

// policyTypes are the formats an administrator may configure, by file extension.
var policyTypes = map[string]string{
	".pdf":      "application/pdf",
	".html":     "text/html; charset=utf-8",
	".htm":      "text/html; charset=utf-8",
	".md":       "text/markdown; charset=utf-8",
	".markdown": "text/markdown; charset=utf-8",
	".txt":      "text/plain; charset=utf-8",
}

// LoadPolicy reads the configured policy file (policy_file): PDF, HTML, Markdown or text,
// chosen by its extension, at most 20 MiB.
func LoadPolicy(path string) (Policy, error) {
	ext := strings.ToLower(filepath.Ext(path))
	ct, ok := policyTypes[ext]
	if !ok {
		return Policy{}, fmt.Errorf("policy_file %s: the file must be .pdf, .html, .md or .txt", path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return Policy{}, fmt.Errorf("policy_file: %w", err)
	}
	if info.Size() > maxPolicyBytes {
		return Policy{}, fmt.Errorf("policy_file %s: larger than 20 MiB", path)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("policy_file: %w", err)
	}
	return Policy{Name: filepath.Base(path), ContentType: ct, Body: body}, nil
}

// defaultPolicy is the policy Facet ships, in l's language when it has one (Markdown).
func defaultPolicy(l templates.Lang) (Policy, error) {
	name := "lifecycle/policy." + string(l) + ".md"
	body, err := fs.ReadFile(templates.FS, name)
	if err != nil {
		name = "lifecycle/policy.en.md"
		if body, err = fs.ReadFile(templates.FS, name); err != nil {
			return Policy{}, fmt.Errorf("default policy: %w", err)
		}
	}
	return Policy{Name: "personal-data-processing-policy.md", ContentType: policyTypes[".md"], Body: body}, nil
}
