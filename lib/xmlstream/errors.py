"""XMLError: a stream-level XML failure, named by its RFC 6120 stream error condition.

Conditions used (RFC 6120 section 4.9.3):
  not-well-formed      syntax errors, bad names, duplicate attributes, mismatched or unexpected
                       end tags, '<' in an attribute value, text outside the root, invalid UTF-8,
                       character references to code points XML does not allow
  restricted-xml       DOCTYPE and other declarations, comments and processing instructions
                       after the prolog, references to entities other than the five predefined
                       ones (RFC 6120 section 11.1)
  policy-violation     a stanza (or a single token) larger than max_stanza, nesting deeper than
                       max_depth
  unsupported-encoding an XML declaration naming an encoding other than UTF-8 (section 11.6)
  bad-format           non-whitespace character data directly inside the stream root
  bad-namespace-prefix an element or attribute prefix that no xmlns declaration binds
  invalid-namespace    a root other than <stream> in http://etherx.jabber.org/streams, or a
                       content namespace other than the expected one (jabber:client)
  undefined-condition  later feeds after the sink raised something other than XMLError (that
                       exception itself propagates unchanged to the caller of feed)
"""


class XMLError(Exception):
    def __init__(self, condition, message=""):
        super().__init__(condition, message)
        self.condition = condition
        self.message = message
