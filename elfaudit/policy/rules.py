"""The catalogue of rules: stable kebab-case ids, default severity, one-line help.

Rule ids never change once released; reports, waivers, SARIF and JUnit all key on them.
``severity`` is the rule's severity for a *public* (stable) version node, and it follows
what breaks: ``error`` when a program built against the old library (or linked against
this one) fails, ``warning`` when old programs still run but something a packager must
act on changed, ``info`` when nothing breaks. A profile that makes a stronger promise
(libvirt: nodes are frozen once shipped, functions are linkable forever) raises the
rules its promise covers in its ``"severities"``. Each rule also
has a default severity per node class, which the weighing pass
(:mod:`elfaudit.policy.weigh`) applies and a profile may override (``"severities"``):
weaker nodes (e.g. ``LIBVIRT_QEMU_*``) lower an error to a warning, private nodes are
exempt unless ``private`` says otherwise, and ``hidden`` caps the severity of a finding
about a hidden (``name@NODE``, non-default) symbol. Info rules stay info.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from elfaudit.model.report import Finding, Severity

if TYPE_CHECKING:
    from elfaudit.model.script import Location


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    severity: Severity
    family: str  # script, compare, graph, package, api, symbols-file
    summary: str
    guarantee: str  # what promise or fact of dynamic linking the rule enforces
    private: Severity | None = None  # in private nodes (None: exempt)
    hidden: Severity | None = None  # at most this about a hidden symbol (None: no cap)
    hidden_exempt: bool = False  # a finding about a hidden symbol is dropped

    def severities(self) -> dict[str, Severity | None]:
        """The default table the weighing pass starts from: class (and ``hidden``) ->
        severity, None meaning exempt. ``hidden`` is present only when the rule caps it."""
        weak = Severity.WARNING if self.severity is Severity.ERROR else self.severity
        out: dict[str, Severity | None] = {
            "public": self.severity,
            "weak": weak,
            "private": self.private,
        }
        if self.hidden_exempt:
            out["hidden"] = None
        elif self.hidden is not None:
            out["hidden"] = self.hidden
        return out


#: The keys of a severity table (``RuleSpec.severities``, a profile's ``"severities"``).
SEVERITY_KEYS = ("public", "weak", "private", "hidden")


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


class Rule(Enum):
    """Every rule elfaudit reports. ``Rule.X.value`` is a :class:`RuleSpec`."""

    # ---- binary vs the version scripts it was built from (check)
    SCRIPT_SYMBOL_MISSING = RuleSpec(
        "script-symbol-missing",
        E,
        "script",
        "A symbol listed in the version script is not exported by the library.",
        "Functions are never removed: a listed API that is not exported is missing.",
    )
    SYMBOL_WRONG_NODE = RuleSpec(
        "symbol-wrong-node",
        E,
        "script",
        "A symbol is exported under another version node than the script assigns.",
        "Each API is tagged with the version that introduced it.",
    )
    SYMBOL_NOT_IN_SCRIPT = RuleSpec(
        "symbol-not-in-script",
        E,
        "script",
        "A symbol is exported but no version script lists it (e.g. leaked through a wildcard).",
        "Only reviewed API may be exported.",
    )
    SYMBOL_UNVERSIONED = RuleSpec(
        "symbol-unversioned",
        E,
        "script",
        "A symbol is exported without a version in a library that defines versions.",
        "Where the format permits, every API carries version information.",
    )
    SYMBOL_NOT_DEFAULT = RuleSpec(
        "symbol-not-default",
        # A compat-only symbol (glibc's deliberate name@OLD with no default) still serves
        # the programs built against it; only a profile promising linkable API raises it.
        INFO,
        "script",
        "A symbol is exported only as a hidden (@) version, so new programs cannot link to it.",
        "Every listed API must be linkable.",
    )
    NODE_MISSING = RuleSpec(
        "node-missing",
        E,
        "script",
        "A version node of the script is not defined by the library.",
        "Programs linked against the node fail with 'version not found'.",
    )
    NODE_UNEXPECTED = RuleSpec(
        "node-unexpected",
        E,
        "script",
        "The library defines a version node that no script declares.",
        "Version nodes come only from reviewed version scripts.",
    )
    NODE_PARENT_MISMATCH = RuleSpec(
        "node-parent-mismatch",
        W,
        "script",
        "A version node's parents in the library differ from the script's.",
        "The node chain is part of the shipped metadata.",
    )
    SCRIPT_DUPLICATE_SYMBOL = RuleSpec(
        "script-duplicate-symbol",
        E,
        "script",
        "A symbol is listed more than once in the version scripts.",
        "A symbol has exactly one introducing version.",
        # Listing mistakes in private fragments are worth fixing but break nothing.
        private=W,
    )
    SCRIPT_CHAIN_BROKEN = RuleSpec(
        "script-chain-broken",
        E,
        "script",
        "A public node's parent is not the previous node, or node names do not increase.",
        "libvirt's nodes form one chain, one node per release that added API.",
    )
    # ---- release to release (compare)
    SYMBOL_REMOVED = RuleSpec(
        "symbol-removed",
        E,
        "compare",
        "A symbol (at a version) that the old library exported is gone.",
        "Functions will never be removed from the public API.",
    )
    SYMBOL_VERSION_CHANGED = RuleSpec(
        "symbol-version-changed",
        E,
        "compare",
        "A symbol moved to another version node; programs bound to the old node fail to load.",
        "Each API keeps the version in which it was introduced.",
    )
    SYMBOL_DEFAULT_LOST = RuleSpec(
        "symbol-default-lost",
        # Old programs still run (the hidden name@NODE serves them): glibc deprecates so.
        W,
        "compare",
        "A symbol no longer has any default (@@) version: new programs cannot link to it.",
        "Functions stay available to new programs forever.",
    )
    SYMBOL_TYPE_CHANGED = RuleSpec(
        "symbol-type-changed",
        E,
        "compare",
        "A symbol changed kind between code, data and TLS (FUNC to OBJECT; not FUNC to IFUNC).",
        "Functions are ABI compatible forever.",
    )
    SYMBOL_BINDING_CHANGED = RuleSpec(
        "symbol-binding-changed",
        W,
        "compare",
        "A symbol changed binding (e.g. GLOBAL to WEAK): interposition semantics change.",
        "Functions are ABI compatible forever.",
    )
    SYMBOL_VISIBILITY_CHANGED = RuleSpec(
        "symbol-visibility-changed",
        W,
        "compare",
        "A symbol changed visibility (e.g. DEFAULT to PROTECTED): interposition changes.",
        "Functions are ABI compatible forever.",
    )
    SYMBOL_SIZE_CHANGED = RuleSpec(
        "symbol-size-changed",
        E,
        "compare",
        "A data object changed size; copy relocations in old programs break.",
        "Struct size and layout are fixed forever.",
    )
    NODE_REMOVED = RuleSpec(
        "node-removed",
        E,
        "compare",
        "A version node the old library defined is gone ('version not found').",
        "Each API keeps the version in which it was introduced.",
    )
    EMPTY_NODE_REMOVED = RuleSpec(
        "empty-node-removed",
        INFO,
        "compare",
        "A version node that held no symbol in the old library is gone.",
        "No program can need a node it could bind no symbol to.",
    )
    NODE_PARENT_CHANGED = RuleSpec(
        "node-parent-changed",
        W,
        "compare",
        "A version node's parents changed.",
        "Shipped version metadata does not change.",
    )
    SYMBOL_ADDED_TO_RELEASED_NODE = RuleSpec(
        "symbol-added-to-released-node",
        # Nothing old breaks: a program using the new symbol needs a per-symbol dependency
        # (Debian's symbols files give one). libvirt's profile promises frozen nodes.
        INFO,
        "compare",
        "A new symbol appeared in a version node an earlier release already shipped.",
        "Each API is tagged with the version that introduced it; per-node dependencies lie.",
        # A hidden (compat) symbol cannot be linked by new programs, so no dependency on
        # the node can be created through it (glibc's foo@OLD beside foo@@NEW): never an
        # addition to the node (compare reports one as symbol-added).
        hidden_exempt=True,
    )
    SONAME_CHANGED = RuleSpec(
        "soname-changed",
        E,
        "compare",
        "The SONAME changed: existing programs cannot find the library.",
        "The library stays ABI compatible forever.",
    )
    MACHINE_CHANGED = RuleSpec(
        "machine-changed",
        E,
        "compare",
        "The two libraries are for different machines, classes or byte orders.",
        "Only builds for the same architecture can be compared.",
    )
    SYMBOL_ADDED = RuleSpec(
        "symbol-added", INFO, "compare", "A new symbol was exported.", "New API may be added."
    )
    NODE_ADDED = RuleSpec(
        "node-added", INFO, "compare", "A new version node was defined.", "New API may be added."
    )
    VERSIONING_ADDED = RuleSpec(
        "versioning-added",
        INFO,
        "compare",
        "An unversioned library now defines version nodes (one finding for the library).",
        "Old unversioned references bind to the new default versions: nothing breaks.",
    )
    # ---- packages and trees
    LIBRARY_REMOVED = RuleSpec(
        "library-removed",
        E,
        "package",
        "A shared library (by SONAME) present in the old package is missing from the new one.",
        "Programs linked against it cannot start.",
    )
    LIBRARY_ADDED = RuleSpec(
        "library-added",
        INFO,
        "package",
        "A shared library (by SONAME) appears in the new package.",
        "New libraries may be added.",
    )
    PROVIDES_REMOVED = RuleSpec(
        "provides-removed",
        E,
        "package",
        "An RPM-style Provides (soname(NODE)) disappeared between the two builds.",
        "Package dependencies on the node can no longer be met.",
    )
    SYMBOL_MOVED_LIBRARY = RuleSpec(
        "symbol-moved-library",
        INFO,
        "package",
        "A symbol left a library for another library of the new set, at the same version node.",
        "Old programs still resolve it: the old library keeps the node and loads the new home.",
    )
    NEEDED_ADDED = RuleSpec(
        "needed-added",
        INFO,
        "package",
        "The new build needs (DT_NEEDED) a library the old one did not.",
        "Dependencies may be added; the package must depend on the new one.",
    )
    NEEDED_REMOVED = RuleSpec(
        "needed-removed",
        W,
        "package",
        "The new build no longer needs (DT_NEEDED) a library the old one did.",
        "Programs relying on the library to load a dependency for them lose its symbols.",
    )
    VERSION_NEED_RAISED = RuleSpec(
        "version-need-raised",
        W,
        "package",
        "The new build needs a newer version node of a dependency (e.g. GLIBC_2.38).",
        "The new build does not load where that dependency is older: Depends must follow.",
    )
    # ---- release history (graph check / gate)
    NODE_NAMED_FOR_SHIPPED_RELEASE = RuleSpec(
        "node-named-for-shipped-release",
        E,
        "graph",
        "A new version node is named for a release at or before one that shipped without it.",
        "Programs built against it would wrongly accept that older release.",
    )
    NODE_ABOVE_RELEASE = RuleSpec(
        "node-above-release",
        E,
        "graph",
        "A version node is named for a release newer than the release being built.",
        "Each API is tagged with the version in which it was introduced.",
    )
    PRIVATE_NODE_MISNAMED = RuleSpec(
        "private-node-misnamed",
        W,
        "graph",
        "The private node is not named after the release being built.",
        "libvirt renames LIBVIRT_PRIVATE_<release> every release.",
        private=W,  # always about a private node
    )
    # ---- the documented API (libvirt-dev's libvirt-api.xml; api-compare)
    API_FUNCTION_REMOVED = RuleSpec(
        "api-function-removed",
        E,
        "api",
        "A function documented in the old API description is gone from the new one.",
        "Functions will never be removed from the public API.",
    )
    API_FUNCTION_SIGNATURE_CHANGED = RuleSpec(
        "api-function-signature-changed",
        E,
        "api",
        "A function's return type or parameters changed.",
        "Functions never have parameters added, removed or changed in their signature.",
    )
    API_ENUM_REMOVED = RuleSpec(
        "api-enum-removed",
        E,
        "api",
        "An enumeration value was removed or renamed.",
        "Existing enumeration values will never be removed or renamed.",
    )
    API_ENUM_VALUE_CHANGED = RuleSpec(
        "api-enum-value-changed",
        E,
        "api",
        "An enumeration value changed its numeric value.",
        "Existing enumeration values keep their values.",
    )
    API_MACRO_REMOVED = RuleSpec(
        "api-macro-removed",
        E,
        "api",
        "A constant (macro) was removed.",
        "Existing constants will never be removed or have their value changed.",
    )
    API_MACRO_VALUE_CHANGED = RuleSpec(
        "api-macro-value-changed",
        E,
        "api",
        "A constant (macro) changed its value.",
        "Existing constants will never be removed or have their value changed.",
    )
    API_STRUCT_CHANGED = RuleSpec(
        "api-struct-changed",
        E,
        "api",
        "A struct gained, lost or changed a field.",
        "Struct definitions never have fields added, removed or changed.",
    )
    API_UNION_CHANGED = RuleSpec(
        "api-union-changed",
        E,
        "api",
        "A union lost or changed a field.",
        "Union definitions never have existing fields removed or changed.",
    )
    API_TYPEDEF_REMOVED = RuleSpec(
        "api-typedef-removed",
        E,
        "api",
        "A typedef was removed.",
        "Typedefs are the stable names applications use.",
    )
    API_VERSION_CHANGED = RuleSpec(
        "api-version-changed",
        E,
        "api",
        "An API item's 'since' version changed between releases.",
        "Each API is tagged with the version in which it was introduced.",
    )
    API_NOT_EXPORTED = RuleSpec(
        "api-not-exported",
        E,
        "api",
        "A function documented in the API description is not exported by the library.",
        "Documented API must be callable.",
    )
    API_NODE_MISMATCH = RuleSpec(
        "api-node-mismatch",
        E,
        "api",
        "A function is exported under a version node other than its documented version.",
        "Each API is tagged with the version in which it was introduced.",
    )
    API_UNDOCUMENTED = RuleSpec(
        "api-undocumented",
        W,
        "api",
        "A public symbol is exported but not described in the API description.",
        "Only documented API may be exported.",
    )
    API_ADDED = RuleSpec(
        "api-added", INFO, "api", "An API item was added.", "New API may be added."
    )
    # ---- XML schemas (RELAX NG, usr/share/libvirt/schemas; guarantees: xmlschema)
    SCHEMA_FILE_REMOVED = RuleSpec(
        "schema-file-removed",
        E,
        "schema",
        "A schema file (.rng) of the old release is gone from the new one.",
        "The XML schemas are stable formats, whose compatibility will be maintained forever.",
    )
    SCHEMA_ELEMENT_REMOVED = RuleSpec(
        "schema-element-removed",
        E,
        "schema",
        "An element path the old schema allowed is no longer allowed.",
        "Elements defined will never be removed or renamed.",
    )
    SCHEMA_ATTRIBUTE_REMOVED = RuleSpec(
        "schema-attribute-removed",
        E,
        "schema",
        "An attribute the old schema allowed on an element is no longer allowed.",
        "Attributes defined on an XML element will never be removed or renamed.",
    )
    SCHEMA_VALUE_REMOVED = RuleSpec(
        "schema-value-removed",
        E,
        "schema",
        "An enumerated value (or free text) an attribute or element accepted is no longer "
        "accepted.",
        "The permitted values of an enumeration will never be removed or renamed.",
    )
    SCHEMA_ATTRIBUTE_REQUIRED = RuleSpec(
        "schema-attribute-required",
        E,
        "schema",
        "An attribute the old schema let a document leave out (or did not have) is required.",
        "Attributes defined on an XML element will never be removed or renamed.",
    )
    SCHEMA_ELEMENT_REQUIRED = RuleSpec(
        "schema-element-required",
        E,
        "schema",
        "A child element the old schema let a document leave out (or did not have) is required.",
        "Elements defined will never be removed or renamed.",
    )
    SCHEMA_FILE_ADDED = RuleSpec(
        "schema-file-added", INFO, "schema", "A new schema file.", "New schemas may be added."
    )
    SCHEMA_ELEMENT_ADDED = RuleSpec(
        "schema-element-added",
        INFO,
        "schema",
        "A new element path.",
        "New child elements may be defined at any time.",
    )
    SCHEMA_ATTRIBUTE_ADDED = RuleSpec(
        "schema-attribute-added",
        INFO,
        "schema",
        "A new attribute on an element.",
        "New attributes may be defined.",
    )
    SCHEMA_VALUE_ADDED = RuleSpec(
        "schema-value-added",
        INFO,
        "schema",
        "A new enumerated value of an attribute or element.",
        "Only new values may be defined.",
    )
    # ---- Debian symbols files (symbols-file --check)
    SYMBOLS_FILE_MISSING_SYMBOL = RuleSpec(
        "symbols-file-missing-symbol",
        W,
        "symbols-file",
        "The library exports a symbol the symbols file does not list.",
        "Dependencies generated from the symbols file must cover every symbol.",
    )
    SYMBOLS_FILE_STALE_SYMBOL = RuleSpec(
        "symbols-file-stale-symbol",
        E,
        "symbols-file",
        "The symbols file lists a symbol the library does not export.",
        "Functions are never removed.",
    )
    SYMBOLS_FILE_MINVER_TOO_LOW = RuleSpec(
        "symbols-file-minver-too-low",
        E,
        "symbols-file",
        "The minimal version is older than the release that really shipped the symbol.",
        "Too-loose dependencies let programs install against a library lacking the symbol.",
    )
    # ---- configuration files and their augeas lenses (guarantees: configfiles)
    CONFIG_PARAMETER_UNREADABLE = RuleSpec(
        "config-parameter-unreadable",
        E,
        "config",
        "A parameter the old lens read, or a shipped file documents, is not readable by the "
        "new lens.",
        "If an option is dropped from the file, the augeas lens retains the ability to read it.",
    )
    CONFIG_PARAMETER_ACTIVE = RuleSpec(
        "config-parameter-active",
        # The page describes the shipped files (deployments rely on built-in defaults) and
        # promises no default: nothing stops working, a packager must review the setting.
        W,
        "config",
        "A shipped configuration file sets a parameter instead of leaving it commented out.",
        "The default configuration files ship with all parameters commented out.",
    )
    CONFIG_LENS_MISSING = RuleSpec(
        "config-lens-missing",
        W,
        "config",
        "A shipped configuration file is covered by no augeas lens of its release.",
        "Configuration files are accompanied by augeas lenses.",
    )
    CONFIG_PARAMETER_DROPPED = RuleSpec(
        "config-parameter-dropped",
        INFO,
        "config",
        "A parameter the old file documented is gone from the new file; the new lens still "
        "reads it.",
        "Options may be dropped from the file; the lens keeps reading them.",
    )

    # ---- virsh (its command and option tables, read from /usr/bin/virsh; guarantees: virsh)
    VIRSH_COMMAND_REMOVED = RuleSpec(
        "virsh-command-removed",
        E,
        "virsh",
        "A virsh command (or command alias) of the old release is gone.",
        "Existing commands and arguments will not be removed or renamed.",
    )
    VIRSH_OPTION_REMOVED = RuleSpec(
        "virsh-option-removed",
        E,
        "virsh",
        "An option (or option alias) of a virsh command is no longer accepted.",
        "Existing commands and arguments will not be removed or renamed.",
    )
    VIRSH_OPTION_CHANGED = RuleSpec(
        "virsh-option-changed",
        E,
        "virsh",
        "A virsh option changed so that an existing command line breaks: its type, it "
        "became required (or a new option is) or refuses an empty value, or a bare word goes "
        "elsewhere or is refused.",
        "Existing commands and arguments will not be removed or renamed.",
    )
    VIRSH_COMMAND_ADDED = RuleSpec(
        "virsh-command-added", INFO, "virsh", "A new virsh command.", "New commands may be added."
    )
    VIRSH_OPTION_ADDED = RuleSpec(
        "virsh-option-added",
        INFO,
        "virsh",
        "A new optional option of a virsh command.",
        "New arguments may be added.",
    )
    # ---- error codes (virErrorNumber / virErrorDomain in libvirt-api.xml; guarantees: apierrors)
    API_ERROR_CODE_REMOVED = RuleSpec(
        "api-error-code-removed",
        # The page: "Over time the error codes reported are liable to change ... their
        # behaviour may change across releases." A code no longer defined is one no longer
        # reported, which the page allows; old binaries keep running. Programs naming it no
        # longer build, so a packager must look: a warning, not an error.
        W,
        "api-errors",
        "A virErrorNumber or virErrorDomain value of the old API description is gone.",
        "The error codes reported are liable to change across releases.",
    )
    API_ERROR_CODE_RENUMBERED = RuleSpec(
        "api-error-code-renumbered",
        # The page lets a call report another code, not a code mean another number: a
        # program compiled with the old number takes one error for another. An error.
        E,
        "api-errors",
        "A virErrorNumber or virErrorDomain value changed its number (*_LAST excepted).",
        "Error codes may change which is reported, not what each number means.",
    )
    API_ERROR_CODE_ADDED = RuleSpec(
        "api-error-code-added",
        INFO,
        "api-errors",
        "A new virErrorNumber or virErrorDomain value.",
        "Error codes may change, usually from a generic error to a more specific one.",
    )
    # ---- connection-driver modules (guarantees: hvdrivers, no promise)
    DRIVER_ADDED = RuleSpec(
        "driver-added",
        INFO,
        "driver",
        "A connection-driver module (libvirt_driver_*.so) is new.",
        "Libvirt aims to work with any hypervisor version broadly supported by its vendor.",
    )
    DRIVER_DROPPED = RuleSpec(
        "driver-dropped",
        INFO,
        "driver",
        "A connection-driver module (libvirt_driver_*.so) of the old release is gone.",
        "When a vendor discontinues support for a hypervisor version it will be dropped.",
    )
    # ---- RPC protocol (tapset and wireshark plugin; guarantees: rpcproto). Findings carry
    # api="rpc:<program>": remote public, qemu/lxc weak, the other daemons' private (exempt).
    RPC_PROGRAM_REMOVED = RuleSpec(
        "rpc-program-removed",
        E,
        "rpc",
        "An RPC program of the old release is gone (or answers at another program number).",
        "The RPC protocol of libvirtd is a long term stable ABI.",
    )
    RPC_PROCEDURE_REMOVED = RuleSpec(
        "rpc-procedure-removed",
        E,
        "rpc",
        "An RPC procedure number of the old release is gone.",
        "Existing messages will not be removed.",
    )
    RPC_PROCEDURE_RENAMED = RuleSpec(
        "rpc-procedure-renamed",
        # The wire carries the number, not the name: old clients still reach it; a changed
        # meaning shows in its messages (rpc-message-changed, rpc-message-removed).
        W,
        "rpc",
        "An RPC procedure number names another procedure than in the old release.",
        "Existing messages will not be removed, nor have their contents changed.",
    )
    RPC_MESSAGE_REMOVED = RuleSpec(
        "rpc-message-removed",
        E,
        "rpc",
        "An RPC message (XDR structure of the protocol) of the old release is gone.",
        "Existing messages will not be removed.",
    )
    RPC_MESSAGE_CHANGED = RuleSpec(
        "rpc-message-changed",
        E,
        "rpc",
        "An RPC message's fields were removed, added, retyped or reordered.",
        "Existing messages will not have their contents changed.",
    )
    RPC_MESSAGE_FIELD_RENAMED = RuleSpec(
        "rpc-message-field-renamed",
        # Same position, same type: the XDR encoding is unchanged.
        W,
        "rpc",
        "An RPC message's field was renamed at the same position with the same type.",
        "Existing messages will not have their contents changed.",
    )
    RPC_SOURCES_DISAGREE = RuleSpec(
        "rpc-sources-disagree",
        W,
        "rpc",
        "The release's systemtap tapset and wireshark plugin tell a procedure or program "
        "differently.",
        "Both files are generated from the same protocol definition.",
    )
    RPC_PROGRAM_ADDED = RuleSpec(
        "rpc-program-added", INFO, "rpc", "A new RPC program.", "New messages may be added."
    )
    RPC_PROCEDURE_ADDED = RuleSpec(
        "rpc-procedure-added",
        INFO,
        "rpc",
        "A new RPC procedure.",
        "The protocol will only ever have new messages added to it.",
    )
    RPC_MESSAGE_ADDED = RuleSpec(
        "rpc-message-added",
        INFO,
        "rpc",
        "A new RPC message.",
        "The protocol will only ever have new messages added to it.",
    )

    @property
    def id(self) -> str:
        return self.value.id

    @property
    def severity(self) -> Severity:
        return self.value.severity

    def finding(
        self,
        library: str,
        node: str | None,
        message: str,
        symbol: str | None = None,
        *,
        location: Location | None = None,
        hidden: bool = False,
        api: str | None = None,
    ) -> Finding:
        """A raw finding of this rule: the catalogue severity, not yet weighed."""
        return Finding(
            self.id, self.severity, library, symbol, node, message, location,
            hidden=hidden, api=api,
        )  # fmt: skip


BY_ID: dict[str, Rule] = {r.value.id: r for r in Rule}

#: Rule id -> what the finding means for a packager: what breaks, and for whom (the
#: README's rule table prints it; severities follow it, see the module docstring).
FOR_PACKAGER: dict[str, str] = {
    "script-symbol-missing": "Programs calling the listed function will not link or load.",
    "symbol-wrong-node": "Programs get a version need on the wrong node; dependencies lie.",
    "symbol-not-in-script": "Programs may start using a symbol nobody promised to keep.",
    "symbol-unversioned": "Programs bind it unversioned: a later move goes unnoticed.",
    "symbol-not-default": (
        "Old programs keep running; new ones cannot link it (deliberate for compat symbols)."
    ),
    "node-missing": "Programs needing the node fail to load ('version not found').",
    "node-unexpected": "An unreviewed node: programs may come to depend on it.",
    "node-parent-mismatch": "Nothing breaks at run time; the metadata differs from review.",
    "script-duplicate-symbol": "The symbol's node depends on link order: review the script.",
    "script-chain-broken": "Nothing breaks at run time; node order no longer tells release order.",
    "symbol-removed": "Programs using it fail to load (LD_BIND_NOW) or crash when they call it.",
    "symbol-version-changed": "Programs bound to the old node fail to load.",
    "symbol-default-lost": (
        "Old programs run; programs rebuilt against the new library fail to link."
    ),
    "symbol-type-changed": "Programs using it as code or data misbehave or fail to load.",
    "symbol-binding-changed": "Old programs run; interposition and weak-symbol semantics change.",
    "symbol-visibility-changed": "Old programs run; interposition changes.",
    "symbol-size-changed": "Old programs' copy relocations truncate or overrun the object.",
    "node-removed": "Programs that need the node fail to load ('version not found').",
    "empty-node-removed": "Nothing breaks: no program can need a node that held no symbol.",
    "node-parent-changed": "Nothing breaks at run time; the shipped metadata changed.",
    "symbol-added-to-released-node": (
        "Old programs run; new programs using the symbol need a per-symbol dependency "
        "(a symbols file), not one per node."
    ),
    "soname-changed": "A new library: every program must be rebuilt (a new package name).",
    "machine-changed": "Not the same architecture: nothing built for one runs on the other.",
    "symbol-added": "Nothing breaks: new API.",
    "node-added": "Nothing breaks: new API.",
    "versioning-added": (
        "Nothing breaks: old unversioned references bind to the default versions; "
        "programs built from now on need this library or later."
    ),
    "library-removed": "Programs linked against that library cannot start.",
    "library-added": "Nothing breaks: a new library.",
    "provides-removed": "RPM dependencies on that capability can no longer be met.",
    "symbol-moved-library": "Old programs run: the old library loads the symbol's new home.",
    "needed-added": "Nothing breaks; the package must depend on the newly needed library.",
    "needed-removed": "Programs that relied on it loading that library lose its symbols.",
    "version-need-raised": (
        "The new build fails to load where the dependency is older: Depends must follow."
    ),
    "node-named-for-shipped-release": (
        "Programs built against it install against that older release and fail to load."
    ),
    "node-above-release": "Dependencies derived from the node name ask for a release not yet out.",
    "private-node-misnamed": "Nothing breaks; private symbols may leak across releases.",
    "api-function-removed": "Programs calling it no longer build; old binaries lose the symbol.",
    "api-function-signature-changed": "Old programs pass the wrong arguments: crashes.",
    "api-enum-removed": "Programs using the value no longer build.",
    "api-enum-value-changed": "Old programs pass or compare the wrong number.",
    "api-macro-removed": "Programs using the constant no longer build.",
    "api-macro-value-changed": "Old programs carry the old value compiled in.",
    "api-struct-changed": "Old programs read or write the struct with the wrong layout.",
    "api-union-changed": "Old programs read or write the union with the wrong layout.",
    "api-typedef-removed": "Programs using the typedef no longer build.",
    "api-version-changed": "Dependencies derived from the documentation are wrong.",
    "api-not-exported": "Programs calling the documented function fail to link or load.",
    "api-node-mismatch": "Programs get a version need other than the documented release.",
    "api-undocumented": "Programs may use API nobody promised to keep.",
    "api-added": "Nothing breaks: new API.",
    "schema-file-removed": "Documents and tools validating against that schema have none.",
    "schema-element-removed": "Existing XML documents using the element are rejected.",
    "schema-attribute-removed": "Existing XML documents using the attribute are rejected.",
    "schema-value-removed": "Existing XML documents using the value are rejected.",
    "schema-attribute-required": "Existing XML documents without the attribute are rejected.",
    "schema-element-required": "Existing XML documents without the element are rejected.",
    "schema-file-added": "Nothing breaks: a new schema.",
    "schema-element-added": "Nothing breaks: old documents stay valid.",
    "schema-attribute-added": "Nothing breaks: old documents stay valid.",
    "schema-value-added": "Nothing breaks: old documents stay valid.",
    "symbols-file-missing-symbol": (
        "Programs using the symbol get no dependency of their own (dpkg-gensymbols fails "
        "the build)."
    ),
    "symbols-file-stale-symbol": "The symbols file promises a symbol the library lost.",
    "symbols-file-minver-too-low": (
        "Programs using the symbol install against a package without it and fail to load."
    ),
    "config-parameter-unreadable": (
        "Augeas fails on a configuration file an administrator set that parameter in: tools "
        "editing it through the lens break."
    ),
    "config-parameter-active": (
        "Nothing stops working; the deployment runs with the shipped value, not the built-in "
        "default: review it."
    ),
    "config-lens-missing": "Nothing breaks at run time; tools cannot edit the file with augeas.",
    "config-parameter-dropped": "Nothing breaks: the lens still reads files that set it.",
    "virsh-command-removed": "Scripts running the command fail ('unknown command').",
    "virsh-option-removed": "Scripts passing the option fail ('doesn't support option').",
    "virsh-option-changed": (
        "Scripts whose command lines worked fail or do something else (a value taken as the "
        "next word, a missing required option, a bare word given to another option)."
    ),
    "virsh-command-added": "Nothing breaks: a new command.",
    "virsh-option-added": "Nothing breaks: old command lines stay valid.",
    "api-error-code-removed": (
        "Old programs run (the code is just no longer reported); programs naming it no "
        "longer build."
    ),
    "api-error-code-renumbered": "Old programs take one error (or domain) for another.",
    "api-error-code-added": "Nothing breaks: calls may report a more specific code.",
    "driver-added": "Nothing breaks: a new hypervisor driver; package it.",
    "driver-dropped": (
        "Connections to that hypervisor (its URI) fail; the page promises no driver forever."
    ),
    # ---- RPC protocol
    "rpc-program-removed": "Clients talking that program (their own or old libvirt) get no answer.",
    "rpc-procedure-removed": "Clients calling the procedure get an error from the daemon.",
    "rpc-procedure-renamed": (
        "Old clients still reach the number; tools naming procedures (systemtap, wireshark) "
        "show another name."
    ),
    "rpc-message-removed": "Clients sending or decoding the message fail.",
    "rpc-message-changed": "Old clients encode or decode the message wrongly: calls fail.",
    "rpc-message-field-renamed": "Nothing breaks on the wire; client code naming the field "
    "no longer builds.",
    "rpc-sources-disagree": "Tracing or dissecting shows wrong procedure names: review the build.",
    "rpc-program-added": "Nothing breaks: a new program.",
    "rpc-procedure-added": "Nothing breaks: a new procedure.",
    "rpc-message-added": "Nothing breaks: a new message.",
}


def for_packager(rule_id: str) -> str:
    """What a finding of ``rule_id`` means for a packager (empty when not written yet)."""
    return FOR_PACKAGER.get(rule_id, "")


def spec(rule_id: str) -> RuleSpec:
    return BY_ID[rule_id].value
