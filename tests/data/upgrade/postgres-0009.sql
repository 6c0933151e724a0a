--
-- PostgreSQL database dump
--

\restrict U54UImRrBBfP9xizXx6tuv1hH502qvlanrHMVwc14gxsLwuQBhEpDm9gyO2nyaZ

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: access_refusals; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.access_refusals (
    id integer NOT NULL,
    source character varying(64) NOT NULL,
    minute timestamp with time zone NOT NULL,
    count integer NOT NULL,
    last_path character varying(200) NOT NULL
);


--
-- Name: access_refusals_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.access_refusals_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: access_refusals_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.access_refusals_id_seq OWNED BY public.access_refusals.id;


--
-- Name: acme_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.acme_accounts (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    directory_url character varying(500) NOT NULL,
    contact_email character varying(254) NOT NULL,
    account_url character varying(500) NOT NULL,
    sealed_key bytea NOT NULL,
    eab_kid character varying(200) NOT NULL,
    ca_bundle_pem text NOT NULL,
    profile character varying(100) NOT NULL,
    challenge character varying(20) NOT NULL,
    dns json NOT NULL,
    sealed_dns_secret bytea,
    status character varying(20) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: acme_accounts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.acme_accounts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: acme_accounts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.acme_accounts_id_seq OWNED BY public.acme_accounts.id;


--
-- Name: acme_challenges; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.acme_challenges (
    token character varying(200) NOT NULL,
    key_authorization character varying(400) NOT NULL,
    domain character varying(255) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: agent_nonces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_nonces (
    agent_id integer NOT NULL,
    nonce character varying(64) NOT NULL,
    at timestamp with time zone NOT NULL
);


--
-- Name: agent_work; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_work (
    id integer NOT NULL,
    agent_id integer NOT NULL,
    kind character varying(10) NOT NULL,
    deployment_id integer,
    request_id integer,
    sequence integer NOT NULL,
    blob bytea,
    spec json NOT NULL,
    state character varying(10) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    delivered_at timestamp with time zone,
    done_at timestamp with time zone
);


--
-- Name: agent_work_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.agent_work_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: agent_work_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.agent_work_id_seq OWNED BY public.agent_work.id;


--
-- Name: agents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agents (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    hostname character varying(255) NOT NULL,
    version character varying(50) NOT NULL,
    x25519_public bytea NOT NULL,
    ed25519_public bytea NOT NULL,
    status character varying(20) NOT NULL,
    enrolled_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone,
    targets json NOT NULL
);


--
-- Name: agents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.agents_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: agents_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.agents_id_seq OWNED BY public.agents.id;


--
-- Name: alembic_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);


--
-- Name: api_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_tokens (
    id integer NOT NULL,
    user_id integer NOT NULL,
    name character varying(100) NOT NULL,
    token_sha256 character varying(64) NOT NULL,
    prefix character varying(16) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked boolean NOT NULL
);


--
-- Name: api_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.api_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: api_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.api_tokens_id_seq OWNED BY public.api_tokens.id;


--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(200) NOT NULL,
    source character varying(100) NOT NULL,
    action character varying(100) NOT NULL,
    entity_type character varying(50) NOT NULL,
    entity_id character varying(100) NOT NULL,
    detail json NOT NULL
);


--
-- Name: audit_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.audit_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: audit_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.audit_events_id_seq OWNED BY public.audit_events.id;


--
-- Name: certificate_authorities; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_authorities (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    kind character varying(20) NOT NULL,
    status character varying(20) NOT NULL,
    subject character varying(2000) NOT NULL,
    key_type character varying(30) NOT NULL,
    sealed_key bytea NOT NULL,
    certificate_id integer,
    csr_pem text NOT NULL,
    crl_number integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: certificate_authorities_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificate_authorities_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificate_authorities_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificate_authorities_id_seq OWNED BY public.certificate_authorities.id;


--
-- Name: certificate_chain; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_chain (
    certificate_id integer NOT NULL,
    "position" integer NOT NULL,
    ca_certificate_id integer NOT NULL
);


--
-- Name: certificate_definitions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_definitions (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    common_name character varying(500) NOT NULL,
    organization character varying(200) NOT NULL,
    organizational_unit character varying(200) NOT NULL,
    locality character varying(200) NOT NULL,
    state character varying(200) NOT NULL,
    country character varying(2) NOT NULL,
    sans json NOT NULL,
    key_type character varying(30) NOT NULL,
    issuer_kind character varying(20) NOT NULL,
    requirements json NOT NULL,
    product_id character varying(100),
    acme_account_id integer,
    requestor character varying(200) NOT NULL,
    renewal_policy json NOT NULL,
    notes text NOT NULL,
    current_certificate_id integer,
    archived boolean NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    auto_deploy boolean DEFAULT true NOT NULL,
    vendor_account_id integer
);


--
-- Name: certificate_definitions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificate_definitions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificate_definitions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificate_definitions_id_seq OWNED BY public.certificate_definitions.id;


--
-- Name: certificate_requests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_requests (
    id integer NOT NULL,
    definition_id integer NOT NULL,
    kind character varying(10) NOT NULL,
    status character varying(30) NOT NULL,
    issuer_kind character varying(20) NOT NULL,
    private_key_id integer,
    csr_pem text NOT NULL,
    product_id character varying(100),
    vendor_account_id integer,
    order_date timestamp with time zone,
    order_number character varying(200) NOT NULL,
    tracking_notes text NOT NULL,
    certificate_id integer,
    replaces_certificate_id integer,
    last_error text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone,
    created_by character varying(100) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    acme_account_id integer,
    acme_order_url character varying(500) DEFAULT ''::character varying NOT NULL,
    key_on_agent boolean DEFAULT false NOT NULL,
    extra json DEFAULT '{}'::json NOT NULL
);


--
-- Name: certificate_requests_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificate_requests_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificate_requests_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificate_requests_id_seq OWNED BY public.certificate_requests.id;


--
-- Name: certificates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificates (
    id integer NOT NULL,
    definition_id integer,
    private_key_id integer,
    der bytea NOT NULL,
    sha256 character varying(64) NOT NULL,
    sha1 character varying(40) NOT NULL,
    public_key_sha256 character varying(64) NOT NULL,
    serial_hex character varying(64) NOT NULL,
    subject character varying(2000) NOT NULL,
    common_name character varying(500) NOT NULL,
    issuer character varying(2000) NOT NULL,
    sans json NOT NULL,
    not_before timestamp with time zone NOT NULL,
    not_after timestamp with time zone NOT NULL,
    key_label character varying(30) NOT NULL,
    is_ca boolean NOT NULL,
    self_signed boolean NOT NULL,
    source character varying(20) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    signature_problem character varying(500)
);


--
-- Name: certificates_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificates_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificates_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificates_id_seq OWNED BY public.certificates.id;


--
-- Name: check_challenges; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.check_challenges (
    id integer NOT NULL,
    deployment_id integer NOT NULL,
    nonce character varying(64) NOT NULL,
    issued_by character varying(100) NOT NULL,
    issued_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    used_by character varying(100) NOT NULL,
    check_result_id integer
);


--
-- Name: check_challenges_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.check_challenges_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: check_challenges_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.check_challenges_id_seq OWNED BY public.check_challenges.id;


--
-- Name: check_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.check_results (
    id integer NOT NULL,
    deployment_id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    source character varying(20) NOT NULL,
    ok boolean NOT NULL,
    reachable boolean NOT NULL,
    served_sha256 character varying(64) NOT NULL,
    matches_current boolean NOT NULL,
    chain_complete boolean NOT NULL,
    chain_in_order boolean NOT NULL,
    hostname_matches boolean NOT NULL,
    days_left integer,
    error text NOT NULL,
    detail json NOT NULL
);


--
-- Name: check_results_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.check_results_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: check_results_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.check_results_id_seq OWNED BY public.check_results.id;


--
-- Name: console_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.console_sessions (
    id integer NOT NULL,
    id_sha256 character varying(64) NOT NULL,
    user_id integer NOT NULL,
    address character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone
);


--
-- Name: console_sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.console_sessions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: console_sessions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.console_sessions_id_seq OWNED BY public.console_sessions.id;


--
-- Name: deployment_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deployment_events (
    id integer NOT NULL,
    deployment_id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(100) NOT NULL,
    event character varying(50) NOT NULL,
    message text NOT NULL,
    detail json NOT NULL
);


--
-- Name: deployment_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deployment_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deployment_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deployment_events_id_seq OWNED BY public.deployment_events.id;


--
-- Name: deployments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deployments (
    id integer NOT NULL,
    definition_id integer NOT NULL,
    name character varying(200) NOT NULL,
    common_name character varying(500) NOT NULL,
    server_name character varying(255) NOT NULL,
    check_host character varying(255) NOT NULL,
    check_port integer NOT NULL,
    sni character varying(255) NOT NULL,
    starttls character varying(10) NOT NULL,
    target_type character varying(30) NOT NULL,
    target_params json NOT NULL,
    delivery character varying(20) NOT NULL,
    admin_email character varying(254) NOT NULL,
    monitoring boolean NOT NULL,
    status character varying(30) NOT NULL,
    certificate_id integer,
    agent_id integer,
    sequence integer NOT NULL,
    notes text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    production boolean DEFAULT true NOT NULL,
    sealed_receipt_key bytea,
    receipt_used boolean DEFAULT false NOT NULL,
    last_check_id integer,
    consecutive_failures integer DEFAULT 0 NOT NULL
);


--
-- Name: deployments_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deployments_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deployments_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deployments_id_seq OWNED BY public.deployments.id;


--
-- Name: documents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.documents (
    id integer NOT NULL,
    definition_id integer NOT NULL,
    filename character varying(255) NOT NULL,
    stored_name character varying(100) NOT NULL,
    content_type character varying(100) NOT NULL,
    size integer NOT NULL,
    sha256 character varying(64) NOT NULL,
    kind character varying(30) NOT NULL,
    uploaded_by character varying(100) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    owner_user_id integer
);


--
-- Name: documents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.documents_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: documents_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.documents_id_seq OWNED BY public.documents.id;


--
-- Name: download_links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.download_links (
    id integer NOT NULL,
    token_sha256 character varying(64) NOT NULL,
    document_id integer NOT NULL,
    deployment_id integer,
    expires_at timestamp with time zone NOT NULL,
    downloads integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: download_links_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.download_links_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: download_links_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.download_links_id_seq OWNED BY public.download_links.id;


--
-- Name: enrollment_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.enrollment_tokens (
    id integer NOT NULL,
    secret_sha256 character varying(64) NOT NULL,
    name_hint character varying(200) NOT NULL,
    auto_approve boolean NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    agent_id integer,
    created_by character varying(100) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: enrollment_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.enrollment_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: enrollment_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.enrollment_tokens_id_seq OWNED BY public.enrollment_tokens.id;


--
-- Name: findings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.findings (
    id integer NOT NULL,
    kind character varying(30) NOT NULL,
    key character varying(200) NOT NULL,
    definition_id integer,
    deployment_id integer,
    severity character varying(10) NOT NULL,
    message text NOT NULL,
    state character varying(10) NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    cleared_at timestamp with time zone,
    digested_open boolean NOT NULL,
    digested_clear boolean NOT NULL,
    notified boolean NOT NULL
);


--
-- Name: findings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.findings_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: findings_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.findings_id_seq OWNED BY public.findings.id;


--
-- Name: job_leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_leases (
    name character varying(50) NOT NULL,
    holder character varying(100) NOT NULL,
    lease_until timestamp with time zone,
    next_run_at timestamp with time zone,
    last_started_at timestamp with time zone,
    last_finished_at timestamp with time zone,
    last_result character varying(20) NOT NULL,
    last_error text NOT NULL,
    last_duration_ms integer NOT NULL,
    runs integer NOT NULL,
    failures integer NOT NULL,
    progress json NOT NULL
);


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id integer NOT NULL,
    channel character varying(10) NOT NULL,
    target character varying(1000) NOT NULL,
    subject character varying(500) NOT NULL,
    body text NOT NULL,
    kind character varying(40) NOT NULL,
    state character varying(10) NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    last_error text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    webhook_id integer,
    sent_email_id integer
);


--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;


--
-- Name: private_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.private_keys (
    id integer NOT NULL,
    algorithm character varying(20) NOT NULL,
    size integer NOT NULL,
    key_type character varying(30) NOT NULL,
    public_sha256 character varying(64) NOT NULL,
    origin character varying(30) NOT NULL,
    sealed_pkcs8 bytea,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: private_keys_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.private_keys_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: private_keys_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.private_keys_id_seq OWNED BY public.private_keys.id;


--
-- Name: request_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.request_events (
    id integer NOT NULL,
    request_id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(100) NOT NULL,
    event character varying(50) NOT NULL,
    message text NOT NULL,
    detail json NOT NULL
);


--
-- Name: request_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.request_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: request_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.request_events_id_seq OWNED BY public.request_events.id;


--
-- Name: revocations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.revocations (
    id integer NOT NULL,
    ca_id integer NOT NULL,
    serial_hex character varying(64) NOT NULL,
    certificate_id integer,
    reason character varying(40) NOT NULL,
    revoked_at timestamp with time zone NOT NULL,
    revoked_by character varying(100) NOT NULL
);


--
-- Name: revocations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.revocations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: revocations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.revocations_id_seq OWNED BY public.revocations.id;


--
-- Name: sent_emails; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sent_emails (
    id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    kind character varying(40) NOT NULL,
    "to" character varying(1000) NOT NULL,
    subject character varying(500) NOT NULL,
    body text NOT NULL,
    result character varying(20) NOT NULL,
    error text NOT NULL,
    entity_type character varying(50) NOT NULL,
    entity_id character varying(100) NOT NULL,
    attempts integer NOT NULL
);


--
-- Name: sent_emails_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sent_emails_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sent_emails_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sent_emails_id_seq OWNED BY public.sent_emails.id;


--
-- Name: settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settings (
    key character varying(100) NOT NULL,
    value json NOT NULL,
    sealed bytea,
    updated_at timestamp with time zone NOT NULL,
    updated_by character varying(100) NOT NULL
);


--
-- Name: sign_in_throttle; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sign_in_throttle (
    id integer NOT NULL,
    address character varying(64) NOT NULL,
    username character varying(100) NOT NULL,
    failures integer NOT NULL,
    last_failure_at timestamp with time zone NOT NULL
);


--
-- Name: sign_in_throttle_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sign_in_throttle_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sign_in_throttle_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sign_in_throttle_id_seq OWNED BY public.sign_in_throttle.id;


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id integer NOT NULL,
    username character varying(100) NOT NULL,
    email character varying(254) NOT NULL,
    role character varying(20) NOT NULL,
    password_hash character varying(200) NOT NULL,
    must_change_password boolean NOT NULL,
    disabled boolean NOT NULL,
    created_at timestamp with time zone NOT NULL,
    password_changed_at timestamp with time zone,
    last_login_at timestamp with time zone
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;


--
-- Name: vendor_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.vendor_accounts (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    vendors json NOT NULL,
    login_name character varying(200) NOT NULL,
    sealed_password bytea,
    registered_email character varying(254) NOT NULL,
    notes text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: vendor_accounts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.vendor_accounts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: vendor_accounts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.vendor_accounts_id_seq OWNED BY public.vendor_accounts.id;


--
-- Name: webhooks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhooks (
    id integer NOT NULL,
    url character varying(1000) NOT NULL,
    sealed_secret bytea NOT NULL,
    events json NOT NULL,
    enabled boolean NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: webhooks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhooks_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhooks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhooks_id_seq OWNED BY public.webhooks.id;


--
-- Name: access_refusals id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_refusals ALTER COLUMN id SET DEFAULT nextval('public.access_refusals_id_seq'::regclass);


--
-- Name: acme_accounts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_accounts ALTER COLUMN id SET DEFAULT nextval('public.acme_accounts_id_seq'::regclass);


--
-- Name: agent_work id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work ALTER COLUMN id SET DEFAULT nextval('public.agent_work_id_seq'::regclass);


--
-- Name: agents id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agents ALTER COLUMN id SET DEFAULT nextval('public.agents_id_seq'::regclass);


--
-- Name: api_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens ALTER COLUMN id SET DEFAULT nextval('public.api_tokens_id_seq'::regclass);


--
-- Name: audit_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events ALTER COLUMN id SET DEFAULT nextval('public.audit_events_id_seq'::regclass);


--
-- Name: certificate_authorities id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_authorities ALTER COLUMN id SET DEFAULT nextval('public.certificate_authorities_id_seq'::regclass);


--
-- Name: certificate_definitions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions ALTER COLUMN id SET DEFAULT nextval('public.certificate_definitions_id_seq'::regclass);


--
-- Name: certificate_requests id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests ALTER COLUMN id SET DEFAULT nextval('public.certificate_requests_id_seq'::regclass);


--
-- Name: certificates id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates ALTER COLUMN id SET DEFAULT nextval('public.certificates_id_seq'::regclass);


--
-- Name: check_challenges id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges ALTER COLUMN id SET DEFAULT nextval('public.check_challenges_id_seq'::regclass);


--
-- Name: check_results id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_results ALTER COLUMN id SET DEFAULT nextval('public.check_results_id_seq'::regclass);


--
-- Name: console_sessions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions ALTER COLUMN id SET DEFAULT nextval('public.console_sessions_id_seq'::regclass);


--
-- Name: deployment_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployment_events ALTER COLUMN id SET DEFAULT nextval('public.deployment_events_id_seq'::regclass);


--
-- Name: deployments id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments ALTER COLUMN id SET DEFAULT nextval('public.deployments_id_seq'::regclass);


--
-- Name: documents id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents ALTER COLUMN id SET DEFAULT nextval('public.documents_id_seq'::regclass);


--
-- Name: download_links id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links ALTER COLUMN id SET DEFAULT nextval('public.download_links_id_seq'::regclass);


--
-- Name: enrollment_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens ALTER COLUMN id SET DEFAULT nextval('public.enrollment_tokens_id_seq'::regclass);


--
-- Name: findings id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings ALTER COLUMN id SET DEFAULT nextval('public.findings_id_seq'::regclass);


--
-- Name: outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);


--
-- Name: private_keys id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.private_keys ALTER COLUMN id SET DEFAULT nextval('public.private_keys_id_seq'::regclass);


--
-- Name: request_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_events ALTER COLUMN id SET DEFAULT nextval('public.request_events_id_seq'::regclass);


--
-- Name: revocations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations ALTER COLUMN id SET DEFAULT nextval('public.revocations_id_seq'::regclass);


--
-- Name: sent_emails id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sent_emails ALTER COLUMN id SET DEFAULT nextval('public.sent_emails_id_seq'::regclass);


--
-- Name: sign_in_throttle id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_throttle ALTER COLUMN id SET DEFAULT nextval('public.sign_in_throttle_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);


--
-- Name: vendor_accounts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vendor_accounts ALTER COLUMN id SET DEFAULT nextval('public.vendor_accounts_id_seq'::regclass);


--
-- Name: webhooks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks ALTER COLUMN id SET DEFAULT nextval('public.webhooks_id_seq'::regclass);


--
-- Data for Name: access_refusals; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.access_refusals (id, source, minute, count, last_path) FROM stdin;
\.


--
-- Data for Name: acme_accounts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.acme_accounts (id, name, directory_url, contact_email, account_url, sealed_key, eab_kid, ca_bundle_pem, profile, challenge, dns, sealed_dns_secret, status, created_at) FROM stdin;
\.


--
-- Data for Name: acme_challenges; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.acme_challenges (token, key_authorization, domain, created_at) FROM stdin;
\.


--
-- Data for Name: agent_nonces; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.agent_nonces (agent_id, nonce, at) FROM stdin;
\.


--
-- Data for Name: agent_work; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.agent_work (id, agent_id, kind, deployment_id, request_id, sequence, blob, spec, state, created_at, delivered_at, done_at) FROM stdin;
\.


--
-- Data for Name: agents; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.agents (id, name, hostname, version, x25519_public, ed25519_public, status, enrolled_at, last_seen_at, targets) FROM stdin;
\.


--
-- Data for Name: alembic_version; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.alembic_version (version_num) FROM stdin;
0009
\.


--
-- Data for Name: api_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_tokens (id, user_id, name, token_sha256, prefix, created_at, expires_at, last_used_at, revoked) FROM stdin;
\.


--
-- Data for Name: audit_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.audit_events (id, at, actor, source, action, entity_type, entity_id, detail) FROM stdin;
1	2026-12-04 21:56:06.336721+00	cli:root	cli	ca.setup	ca	1	{"kind": "root", "subject": "O=certmgr,CN=certmgr Private Root CA 20261204-215605", "sha256": "50a050023493cff9844658ad1a298cdd835b09b3a26ccd11b71162ab0dc81797"}
2	2026-12-04 21:56:06.393096+00	cli:root	cli	ca.crl	ca	1	{"crl_number": 1, "revoked": 0}
3	2026-12-04 21:56:07.035567+00	cli:root	cli	user.create	user	1	{"username": "admin", "role": "admin"}
4	2026-12-04 21:56:07.07594+00	cli:root	cli	definition.create	definition	1	{"name": "certmgr console"}
5	2026-12-04 21:56:07.081209+00	cli:root	cli	ca.issue	certificate	2	{"definition": "certmgr console", "sha256": "9a013ffcf1355f70b1b430476b2a65a07c0eec8524cb636c2154641d4ca171a1", "serial": "6b88fc36a449acce4f382f908bd0e8c38109b223"}
6	2026-12-04 21:56:07.344468+00	cli:root	cli	certificate.import	certificate	3	{"sha256": "a1c5d3c01a4dd9ff1040fda8ce49533bae5090e4780a6a550bef15ad9abec61b", "ca": true, "file": "fullchainA.pem"}
7	2026-12-04 21:56:07.297644+00	cli:root	cli	certificate.import	certificate	4	{"sha256": "37edbdc51bbdd05ec0309cb478e3fb9b190bfbf5dbb6b1be371c053b1208a2d0", "definition": "web", "file": "fullchainA.pem", "key": true, "current": true, "signature_verified": true, "accept_unverified": false}
8	2026-12-04 21:56:07.667366+00	cli:root	cli	definition.create	definition	3	{"name": "intranet"}
9	2026-12-04 21:56:07.902647+00	cli:root	cli	request.create	request	1	{"definition": "intranet", "kind": "new"}
10	2026-12-04 21:56:07.902697+00	cli:root	cli	request.create	definition	3	{"request": 1, "kind": "new"}
11	2026-12-04 21:56:07.912784+00	cli:root	cli	request.key-and-csr	request	1	{"from": "draft"}
12	2026-12-04 21:56:07.937123+00	cli:root	cli	ca.issue	certificate	5	{"definition": "intranet", "sha256": "db09522fab46336cc710292c3e531bd991f45eb0e772a28bffb792d1be9eca84", "serial": "6be00b13ddcaf012205ab53792be884092452359"}
13	2026-12-04 21:56:08.057874+00	cli:root	cli	request.received	request	1	{"from": "key-and-csr", "certificate": 5}
14	2026-12-04 21:56:08.057961+00	cli:root	cli	definition.switch-current	definition	3	{"from": null, "to": 5, "sha256": "db09522fab46336cc710292c3e531bd991f45eb0e772a28bffb792d1be9eca84"}
15	2026-12-04 21:56:08.058089+00	cli:root	cli	request.current-switched	request	1	{"from": "received"}
16	2026-12-04 21:56:08.058191+00	cli:root	cli	request.done	request	1	{"from": "current-switched"}
17	2026-12-04 21:56:08.281622+00	cli:root	cli	definition.create	definition	4	{"name": "mail"}
18	2026-12-04 21:56:08.731426+00	cli:root	cli	request.create	request	2	{"definition": "mail", "kind": "new"}
19	2026-12-04 21:56:08.731478+00	cli:root	cli	request.create	definition	4	{"request": 2, "kind": "new"}
20	2026-12-04 21:56:08.738661+00	cli:root	cli	request.key-and-csr	request	2	{"from": "draft"}
21	2026-12-04 21:56:08.760226+00	cli:root	cli	ca.issue	certificate	6	{"definition": "mail", "sha256": "1c6fcc7c5ea347e693c1c3a91843ba1cbb6bee983fc809e08d3f7fc9ac18904b", "serial": "5fae7be8368402c24c7eb7315bc7eae3e6feeea6"}
22	2026-12-04 21:56:08.83508+00	cli:root	cli	request.received	request	2	{"from": "key-and-csr", "certificate": 6}
23	2026-12-04 21:56:08.835133+00	cli:root	cli	definition.switch-current	definition	4	{"from": null, "to": 6, "sha256": "1c6fcc7c5ea347e693c1c3a91843ba1cbb6bee983fc809e08d3f7fc9ac18904b"}
24	2026-12-04 21:56:08.835199+00	cli:root	cli	request.current-switched	request	2	{"from": "received"}
25	2026-12-04 21:56:08.835258+00	cli:root	cli	request.done	request	2	{"from": "current-switched"}
26	2026-12-04 21:56:09.012225+00	cli:root	cli	deployment.create	deployment	1	{"definition": "intranet", "server": "intranet.example.test"}
27	2026-12-04 21:56:09.012273+00	cli:root	cli	deployment.create	definition	3	{"deployment": 1, "server": "intranet.example.test"}
28	2026-12-04 21:56:09.9313+00	cli:root	cli	user.create	user	2	{"username": "operator", "role": "user"}
29	2026-12-04 21:56:10.540618+00	cli:root	cli	agent.token-create	enrollment-token	1	{"expires": "2026-12-05T21:56:10.528196+00:00", "name": "web01"}
30	2026-12-04 21:56:10.671033+00	cli:root	cli	document.add	definition	3	{"document": 1, "name": "po.txt", "size": 20}
\.


--
-- Data for Name: certificate_authorities; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_authorities (id, name, kind, status, subject, key_type, sealed_key, certificate_id, csr_pem, crl_number, created_at) FROM stdin;
1	O=certmgr,CN=certmgr Private Root CA 20261204-215605	root	active	O=certmgr,CN=certmgr Private Root CA 20261204-215605	ec-p384	\\x434d31096b65633231643831325a6ca37616d248370a68a204888b4e2ebd25e6d18932e261d6ccd3400f21208985dfcb17bba91b8ec8f03a087586f9fe4c0314e3955b7a7cb135f463c23ec372d619c26c0c9db16cad63cbd703f2c0d4b529a54876ab2addfa3c71c5fbe76492ed8ff7acabaae7312cdec93a389fe91e7a8362680f0b2e1534fc0c83b980492cb7719af658cf4aa8384c58518f2bd000836280dc5f61c91a3466f826029bcd633d557e5f51eb756ad240a606ca036a9f3caea6de4d7158bdf22d5c425f0b22bff6a2502f910258cba19080b90041142256d63df234	1		1	2026-12-04 21:56:06.247956+00
\.


--
-- Data for Name: certificate_chain; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_chain (certificate_id, "position", ca_certificate_id) FROM stdin;
2	0	1
4	0	3
5	0	1
6	0	1
\.


--
-- Data for Name: certificate_definitions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_definitions (id, name, common_name, organization, organizational_unit, locality, state, country, sans, key_type, issuer_kind, requirements, product_id, acme_account_id, requestor, renewal_policy, notes, current_certificate_id, archived, created_at, updated_at, auto_deploy, vendor_account_id) FROM stdin;
1	certmgr console	localhost						["localhost", "127.0.0.1", "::1", "vm"]	ec-p256	private-ca	{}	\N	\N		{}	The controller's own HTTPS certificate (install target 'certmgr').	2	f	2026-12-04 21:56:07.056063+00	2026-12-04 21:56:07.081209+00	t	\N
2	web	leaf-A						["localhost", "127.0.0.1", "::1"]	ec-p256	vendor	{}	\N	\N		{}	Imported from fullchainA.pem	4	f	2026-12-04 21:56:07.297644+00	2026-12-04 21:56:07.297644+00	t	\N
3	intranet	intranet.example.test						["intranet.example.test"]	ec-p256	private-ca	{}	\N	\N		{}		5	f	2026-12-04 21:56:07.634988+00	2026-12-04 21:56:08.05795+00	t	\N
4	mail	mail.example.test						["mail.example.test"]	rsa-2048	private-ca	{}	\N	\N		{}		6	f	2026-12-04 21:56:08.251953+00	2026-12-04 21:56:08.835127+00	t	\N
\.


--
-- Data for Name: certificate_requests; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_requests (id, definition_id, kind, status, issuer_kind, private_key_id, csr_pem, product_id, vendor_account_id, order_date, order_number, tracking_notes, certificate_id, replaces_certificate_id, last_error, attempts, next_attempt_at, created_by, created_at, updated_at, acme_account_id, acme_order_url, key_on_agent, extra) FROM stdin;
1	3	new	done	private-ca	3	-----BEGIN CERTIFICATE REQUEST-----\nMIIBDTCBtQIBADAgMR4wHAYDVQQDDBVpbnRyYW5ldC5leGFtcGxlLnRlc3QwWTAT\nBgcqhkjOPQIBBggqhkjOPQMBBwNCAATutyBixm5tDikPoWixmv8MjUUBsuMpQpmf\n8HI4sjtjHgjqJQY76xAtcZP9ElaghseCsBWlhP1Cug3S6hvIKp/noDMwMQYJKoZI\nhvcNAQkOMSQwIjAgBgNVHREEGTAXghVpbnRyYW5ldC5leGFtcGxlLnRlc3QwCgYI\nKoZIzj0EAwIDRwAwRAIgOchiZBEV0SGvGY2RDGFQW3qZDHDxeL40fc0E/58DqvEC\nIEFFooX3HmWEbxhyu82XxZc4n8KKRCeC84THQTycMxtG\n-----END CERTIFICATE REQUEST-----\n	\N	\N	\N			5	\N		0	\N	cli:root	2026-12-04 21:56:07.894962+00	2026-12-04 21:56:08.058143+00	\N		f	{}
2	4	new	done	private-ca	4	-----BEGIN CERTIFICATE REQUEST-----\nMIICkDCCAXgCAQAwHDEaMBgGA1UEAwwRbWFpbC5leGFtcGxlLnRlc3QwggEiMA0G\nCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDcstVVhIxylO8G3dojYPz7TtFc9mGV\nhmC+rfnDDG2gW0dHKe2VHiSR4h5+ZNumTxqq8sT1/m5tA8KM2hHwhdlm4jMCR1i3\nyIuc+B+DyqbrF0yeVOwH8YycGlSIU4LxXLWYzqeNRppgbMDdjoQWXRlEuJ4oYGDi\nZM4KtW/ndPJL9vTj5i5uoAMYk0W6KRc3LT2smtii29bZIC+J+XrhH3xyL2t3892u\nILRjoqDCvFRDjyD+TFwLvEpseFuKfvOclhEggr4ri3E1j1y0G7+hoK93AgrTeefK\nZgW8nsmIUIwH/cdaUMGueuMPgodVIvLQK3ZDzrWz2OjqM/GCMEcF896RAgMBAAGg\nLzAtBgkqhkiG9w0BCQ4xIDAeMBwGA1UdEQQVMBOCEW1haWwuZXhhbXBsZS50ZXN0\nMA0GCSqGSIb3DQEBCwUAA4IBAQCN2RwKF4dT1PoXgLXCb+fSu+KcuXhD4AHvH5kX\nEKlRIiVclxUkhwoE8vM/WBnF3ZYIbpSiarhcs8wTshZznVqmYZudBwsT7yrfkCMN\nIB2yLYiqmmjQsfSxbkfX2Ioc0W8oRWEWg61Qe7aoCL2dA7ibtSWnKevmKRG2C9aq\nnLMMo88KidhvIlqdbSPWL29N+e9z6knYj8g1ESXiPtOJKaaqT2meZXm88sgzBzdD\n+6pc0/iQPDe9B9Icm5AzgXJzHrV2cijsc3ujJkgHD0umRxwasCvPUMXKcdgN4ynV\n7htNp+MCPikaR+QmAIViU3U2cHXBMYVcIbcbmNnARG0xpaF8\n-----END CERTIFICATE REQUEST-----\n	\N	\N	\N			6	\N		0	\N	cli:root	2026-12-04 21:56:08.728018+00	2026-12-04 21:56:08.83523+00	\N		f	{}
\.


--
-- Data for Name: certificates; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificates (id, definition_id, private_key_id, der, sha256, sha1, public_key_sha256, serial_hex, subject, common_name, issuer, sans, not_before, not_after, key_label, is_ca, self_signed, source, created_at, signature_problem) FROM stdin;
1	\N	\N	\\x3082022a308201b0a00302010202144cb970dc776eb0d252c10cffedfdaf97d2904f93300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353630353110300e060355040a0c07636572746d6772301e170d3236313230343231353130365a170d3336313230313231353630365a30443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353630353110300e060355040a0c07636572746d67723076301006072a8648ce3d020106052b810400220362000430037ded8a61cfb0ce537b8ba9fe4c00fd19dc99ab60287bed6427e24e4b0750eb49d954664d4651471533241caf86687e3b821714c39d4ebd3fa5764be43525ed5b5ecf89e2e5ff87c67079f681bf025dc2c043f310b4f421fd6ce9a0e5228da3633061300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403020186301d0603551d0e04160414f44fb185fa161a60f38925f81a3fe6acc93c4c20301f0603551d23041830168014f44fb185fa161a60f38925f81a3fe6acc93c4c20300a06082a8648ce3d0403030368003065023100f94399cce12836cfa40bcaa74ca2e4273299e6675da16afa28b5a13edd8438ccde6dd0eb523c5fcb9359b2e225949379023002b427b17c5eb9bf902eef2bafda1983abc244aaaba0b4b89a34e211b4ec26a8621e9e09bdeca02c99029f4aa0af2db8	50a050023493cff9844658ad1a298cdd835b09b3a26ccd11b71162ab0dc81797	122bda8d94eb411d716f03f86e8ea60ee34aa04e	9c0b672a5407c46c5d248a84ec6c112a70c1c78eb4e6560ff0142deabaad6fdc	4cb970dc776eb0d252c10cffedfdaf97d2904f93	O=certmgr,CN=certmgr Private Root CA 20261204-215605	certmgr Private Root CA 20261204-215605	O=certmgr,CN=certmgr Private Root CA 20261204-215605	[]	2026-12-04 21:51:06+00	2036-12-01 21:56:06+00	EC P-384	t	t	issued	2026-12-04 21:56:06.247956+00	\N
2	1	1	\\x3082025b308201e1a00302010202146b88fc36a449acce4f382f908bd0e8c38109b223300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353630353110300e060355040a0c07636572746d6772301e170d3236313230343231353130375a170d3237303632323231353630375a30143112301006035504030c096c6f63616c686f73743059301306072a8648ce3d020106082a8648ce3d03010703420004db25ffec3bd951e7faf7df96d50da24096c726fabf111977c4e5436d78690035c883a4a11fc158ee81fdc98f8adf9f603f5b5a8f6451e9c66bf6a1da678cf9efa381e03081dd300c0603551d130101ff04023000300e0603551d0f0101ff04040302078030130603551d25040c300a06082b0601050507030130300603551d110429302782096c6f63616c686f737487047f0000018710000000000000000000000000000000018202766d301d0603551d0e041604140067705e2b5cc01192048ea7e296922716fc80e2301f0603551d23041830168014f44fb185fa161a60f38925f81a3fe6acc93c4c2030360603551d1f042f302d302ba029a027862568747470733a2f2f3132372e302e302e313a32333436362f706b692f63726c2f312e646572300a06082a8648ce3d0403030368003065023035c5e2390407d1ef5f3559e6ea48c051d65b7de01dcba18822aca1e133088a71ca698678e9d6acdb7effc7ebe2578b65023100bab5d01f6fad77c30df2a12120948b301b96a72e3ec47b9933d3f55d80a375ecd4cad14417a8a0854d0fb543ed1e39c4	9a013ffcf1355f70b1b430476b2a65a07c0eec8524cb636c2154641d4ca171a1	bd733d1ce4fe83adcdd21ba2f1d2ed65621bf30e	aa828cb90d002a6f0740f01bce63909f8dc6e927b1f0376d60851af16c600636	6b88fc36a449acce4f382f908bd0e8c38109b223	CN=localhost	localhost	O=certmgr,CN=certmgr Private Root CA 20261204-215605	["localhost", "127.0.0.1", "::1", "vm"]	2026-12-04 21:51:07+00	2027-06-22 21:56:07+00	EC P-256	f	f	issued	2026-12-04 21:56:07.081209+00	\N
3	\N	\N	\\x308201973082013ea003020102021454109503533f7247b0ee3045fd80ab691c0ae6bb300a06082a8648ce3d04030230143112301006035504030c095465737420526f6f74301e170d3236313230343230353630375a170d3237303630323231353630375a301c311a301806035504030c115465737420496e7465726d6564696174653059301306072a8648ce3d020106082a8648ce3d03010703420004724e4aeabce6a17399669608ee5bce4ac781566e9b37e9df57a4951288f69387aea1a559833174cea7aa01f5f94a3d3e8fd06136ff94a2ac7ee6090a309b36f1a366306430120603551d130101ff040830060101ff020100300e0603551d0f0101ff040403020186301d0603551d0e041604145682884a0f6c227e4e72a6dce32bf91985146633301f0603551d23041830168014393154aaef954455ba9f0bf9beb1c512b6b3398b300a06082a8648ce3d040302034700304402201182e1cb7961b176a73d4f93177d736d992d0c3792d664b9039b2ae2629451e90220227f5d789268da9e55fbb4ec389b486cb8fb3d89a09b1296ba764a44ae76b7d5	a1c5d3c01a4dd9ff1040fda8ce49533bae5090e4780a6a550bef15ad9abec61b	b095e8a649d373a8aa283a7c2e63b8f687f879dd	8e776b26847b102ef98db154ba48fd54d1e6f531a7450c2e564ea237d7f6dbd2	54109503533f7247b0ee3045fd80ab691c0ae6bb	CN=Test Intermediate	Test Intermediate	CN=Test Root	[]	2026-12-04 20:56:07+00	2027-06-02 21:56:07+00	EC P-256	t	f	imported	2026-12-04 21:56:07.297644+00	\N
4	2	2	\\x308201c43082016aa003020102021413c315afe51fedf2841652db1c0e153a44f77f29300a06082a8648ce3d040302301c311a301806035504030c115465737420496e7465726d656469617465301e170d3236313230343230353630375a170d3237303130333231353630375a3011310f300d06035504030c066c6561662d413059301306072a8648ce3d020106082a8648ce3d03010703420004b38caf304d09cd5d7ea61f65fba7ba1eca9a7e6d2d09b5b91ca368f41b1815c20e4f04ef819bf9bbd9ac4fe2a6448bc86e64a023aa3f86d1ea5a0a81bef06599a38194308191300c0603551d130101ff0402300030130603551d25040c300a06082b06010505070301301d0603551d0e041604140cfe3e4030b4f5e9e85477cad1b97e4908a25c1f301f0603551d230418301680145682884a0f6c227e4e72a6dce32bf91985146633302c0603551d110425302382096c6f63616c686f737487047f000001871000000000000000000000000000000001300a06082a8648ce3d040302034800304502210090fd7df29cc234f2687890144e16fb1c9b5485460091144de0b8dce378602160022069cd72980a75d3013ff94fcbe572b399a8e56bf348609c85ea8bd8333a5e1e4a	37edbdc51bbdd05ec0309cb478e3fb9b190bfbf5dbb6b1be371c053b1208a2d0	2c8cf1618c7627e3365fe0c8d3436e6091163cc6	4c51d90636803505bd4b51c457d4babba745e846afe066bc4d45ff8da5747279	13c315afe51fedf2841652db1c0e153a44f77f29	CN=leaf-A	leaf-A	CN=Test Intermediate	["localhost", "127.0.0.1", "::1"]	2026-12-04 20:56:07+00	2027-01-03 21:56:07+00	EC P-256	f	f	imported	2026-12-04 21:56:07.297644+00	\N
5	3	3	\\x30820258308201dda00302010202146be00b13ddcaf012205ab53792be884092452359300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353630353110300e060355040a0c07636572746d6772301e170d3236313230343231353130375a170d3237303632323231353630375a3020311e301c06035504030c15696e7472616e65742e6578616d706c652e746573743059301306072a8648ce3d020106082a8648ce3d03010703420004eeb72062c66e6d0e290fa168b19aff0c8d4501b2e32942999ff07238b23b631e08ea25063beb102d7193fd1256a086c782b015a584fd42ba0dd2ea1bc82a9fe7a381d03081cd300c0603551d130101ff04023000300e0603551d0f0101ff04040302078030130603551d25040c300a06082b0601050507030130200603551d11041930178215696e7472616e65742e6578616d706c652e74657374301d0603551d0e041604142eaf929527e04791707722e57184b63a07840f29301f0603551d23041830168014f44fb185fa161a60f38925f81a3fe6acc93c4c2030360603551d1f042f302d302ba029a027862568747470733a2f2f3132372e302e302e313a32333436362f706b692f63726c2f312e646572300a06082a8648ce3d040303036900306602310082ce51f98bb77b823c1d1dd976078dc10885b43acaa6e5b2d3eded849245106bc3acbc77ea64362b6a8e7a557695e1e102310089907c706a9b07db8d8bcb57e36fd25c43b7f8f79c19c3f69ea484cf39ff0c20a6ee99bf8efe2465b8fcd9948cd39966	db09522fab46336cc710292c3e531bd991f45eb0e772a28bffb792d1be9eca84	a8c923f7f42f8c06cd2985ca593bc65b27d059fb	52ce97441a7a880f47b367bd6181d187f96698caef96814314efb84cee021edb	6be00b13ddcaf012205ab53792be884092452359	CN=intranet.example.test	intranet.example.test	O=certmgr,CN=certmgr Private Root CA 20261204-215605	["intranet.example.test"]	2026-12-04 21:51:07+00	2027-06-22 21:56:07+00	EC P-256	f	f	issued	2026-12-04 21:56:07.937123+00	\N
6	4	4	\\x3082031a308202a0a00302010202145fae7be8368402c24c7eb7315bc7eae3e6feeea6300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353630353110300e060355040a0c07636572746d6772301e170d3236313230343231353130385a170d3237303632323231353630385a301c311a301806035504030c116d61696c2e6578616d706c652e7465737430820122300d06092a864886f70d01010105000382010f003082010a0282010100dcb2d555848c7294ef06ddda2360fcfb4ed15cf661958660beadf9c30c6da05b474729ed951e2491e21e7e64dba64f1aaaf2c4f5fe6e6d03c28cda11f085d966e233024758b7c88b9cf81f83caa6eb174c9e54ec07f18c9c1a54885382f15cb598cea78d469a606cc0dd8e84165d1944b89e286060e264ce0ab56fe774f24bf6f4e3e62e6ea003189345ba2917372d3dac9ad8a2dbd6d9202f89f97ae11f7c722f6b77f3ddae20b463a2a0c2bc54438f20fe4c5c0bbc4a6c785b8a7ef39c96112082be2b8b71358f5cb41bbfa1a0af77020ad379e7ca6605bc9ec988508c07fdc75a50c1ae7ae30f82875522f2d02b7643ceb5b3d8e8ea33f182304705f3de910203010001a381cc3081c9300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d25040c300a06082b06010505070301301c0603551d110415301382116d61696c2e6578616d706c652e74657374301d0603551d0e041604140970bef92d47cd949193e1606b4bca57932fcfa4301f0603551d23041830168014f44fb185fa161a60f38925f81a3fe6acc93c4c2030360603551d1f042f302d302ba029a027862568747470733a2f2f3132372e302e302e313a32333436362f706b692f63726c2f312e646572300a06082a8648ce3d040303036800306502300424a8c6c8f208f98d47605ed2b953ebc6195c7deec23ec798cfe2c616c452debcae8a7733d1a941b03d3d09a893c234023100d34d346ed7aa2929d0669cd3e76f4fbe7d8b5074a853d2346289e6cf08bb8f83a4002335b0aa1db24e2630dc1f646f7e	1c6fcc7c5ea347e693c1c3a91843ba1cbb6bee983fc809e08d3f7fc9ac18904b	3a5545d03b94381b026a11e1a963ee796b914d11	c1ab69f4b88461bc3db90a840f8419f110ed493379f89db990b791411a9d5302	5fae7be8368402c24c7eb7315bc7eae3e6feeea6	CN=mail.example.test	mail.example.test	O=certmgr,CN=certmgr Private Root CA 20261204-215605	["mail.example.test"]	2026-12-04 21:51:08+00	2027-06-22 21:56:08+00	RSA 2048	f	f	issued	2026-12-04 21:56:08.760226+00	\N
\.


--
-- Data for Name: check_challenges; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.check_challenges (id, deployment_id, nonce, issued_by, issued_at, expires_at, used_at, used_by, check_result_id) FROM stdin;
\.


--
-- Data for Name: check_results; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.check_results (id, deployment_id, at, source, ok, reachable, served_sha256, matches_current, chain_complete, chain_in_order, hostname_matches, days_left, error, detail) FROM stdin;
\.


--
-- Data for Name: console_sessions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.console_sessions (id, id_sha256, user_id, address, created_at, last_seen_at, revoked_at) FROM stdin;
\.


--
-- Data for Name: deployment_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.deployment_events (id, deployment_id, at, actor, event, message, detail) FROM stdin;
1	1	2026-12-04 21:56:09.012141+00	cli:root	created	deployment to intranet.example.test (nginx, conventional)	{}
\.


--
-- Data for Name: deployments; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.deployments (id, definition_id, name, common_name, server_name, check_host, check_port, sni, starttls, target_type, target_params, delivery, admin_email, monitoring, status, certificate_id, agent_id, sequence, notes, created_at, updated_at, production, sealed_receipt_key, receipt_used, last_check_id, consecutive_failures) FROM stdin;
1	3	intranet.example.test	intranet.example.test	intranet.example.test	127.0.0.1	9	intranet.example.test		nginx	{}	conventional		t	draft	\N	\N	0		2026-12-04 21:56:08.982873+00	2026-12-04 21:56:08.982873+00	t	\N	f	\N	0
\.


--
-- Data for Name: documents; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.documents (id, definition_id, filename, stored_name, content_type, size, sha256, kind, uploaded_by, created_at, owner_user_id) FROM stdin;
1	3	po.txt	0424833a050fc92b7be8e4c75ffbede4	application/octet-stream	20	2c01e645961cd4b1b733c210d279cda949357472f5ecf4e8e35f09899ed9f2c3	upload	cli:root	2026-12-04 21:56:10.662729+00	\N
\.


--
-- Data for Name: download_links; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.download_links (id, token_sha256, document_id, deployment_id, expires_at, downloads, created_at) FROM stdin;
\.


--
-- Data for Name: enrollment_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.enrollment_tokens (id, secret_sha256, name_hint, auto_approve, expires_at, used_at, agent_id, created_by, created_at) FROM stdin;
1	50d0da4d86b574de4bf6be193ba9d9424c6754c9c0ba043cce2f373e474de7ec	web01	t	2026-12-05 21:56:10.528196+00	\N	\N	cli:root	2026-12-04 21:56:10.528196+00
\.


--
-- Data for Name: findings; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.findings (id, kind, key, definition_id, deployment_id, severity, message, state, opened_at, cleared_at, digested_open, digested_clear, notified) FROM stdin;
\.


--
-- Data for Name: job_leases; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.job_leases (name, holder, lease_until, next_run_at, last_started_at, last_finished_at, last_result, last_error, last_duration_ms, runs, failures, progress) FROM stdin;
\.


--
-- Data for Name: outbox; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.outbox (id, channel, target, subject, body, kind, state, attempts, next_attempt_at, last_error, created_at, webhook_id, sent_email_id) FROM stdin;
\.


--
-- Data for Name: private_keys; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.private_keys (id, algorithm, size, key_type, public_sha256, origin, sealed_pkcs8, created_at) FROM stdin;
1	EC	256	ec-p256	aa828cb90d002a6f0740f01bce63909f8dc6e927b1f0376d60851af16c600636	generated	\\x434d31096b6563323164383132dd4ee62c1bbd520e497a006ea86714d9de67726ad49a7c9bb38bc67117a5349555be6b4609c6b58e31c80a7e781ae80acb1a3537891f8064c1f407a5daaf543ce7dc0d3a80c26fe2f2eb5a3669f9a5a4b40c865b84aeab670ccd8d6c1673249a8e5c8bb60d2fe7ab8368f3d983b6e459b38f32a235fa209a9152c05541396d0a64b7197753761706153b50ecba2decf7e170dca40d25fda9b690a94d4340d60cd2851e92297e	2026-12-04 21:56:07.081209+00
2	EC	256	ec-p256	4c51d90636803505bd4b51c457d4babba745e846afe066bc4d45ff8da5747279	imported	\\x434d31096b6563323164383132165a8a9d788c7d0bcde1e0dcfc05870202e8df83068b3d5530ba54e47a1e653103bfa9bdcb3dd3d504e2c14822c708b878de4d20627b12ea285a0cf196b0878eabaaa007bd01c5580e01bcc15842bd11d9d6a7f46ee4b7167e82a3b5eaa5d8d41c8d6a58a7cd15033dee36b2a82d30c78a4195446cfd7e41d6ea7548f17f950f60fb846bdb50692cc87bb69d8beda5bd6bc4c87f81434849f3128842168907befa7ae7f566b3	2026-12-04 21:56:07.297644+00
3	EC	256	ec-p256	52ce97441a7a880f47b367bd6181d187f96698caef96814314efb84cee021edb	generated	\\x434d31096b6563323164383132a746fbfedc4d3f4fedefa3889346f996fb3993e0a39d8f20a008ac4eddf83ba19fd4b46d1d78b1b69937493ed59d49cf8d2edde99e2897d401afcb9e9bb0ede9d60a7fac9fea0f197b891d8c39a8e0c3f7630a45c9e8da17f6cf333df8b8aa6fed6ae1cb2af9ec087651b6ced6d9c69ad91ff881f7056a73fd24aa9f5ce86bb56161bd029796724e90bf9a819cf0f450a1326b5b4d64e0d73de94395275e72c9b62478096f83	2026-12-04 21:56:07.868921+00
4	RSA	2048	rsa-2048	c1ab69f4b88461bc3db90a840f8419f110ed493379f89db990b791411a9d5302	generated	\\x434d31096b6563323164383132e28e08fffd245f1b0c53d9dfa529db5e66264179eccadcc006604a4f27a7bd5fa8123f464f1004a4f3e73aeba900f5597cdd5c512ff6c210889d9dac73c9348231878b46924e6ce27dfec4dbe9c31c9d86a4ea97be0167a54291f76876dbadd59f983f2398bb995c23ca3cbe0836aee8b253e95d476699e9a288c380c58d567a310a8eae13102af534c749a9e25742d0ebea4f08781a5e8f6f49d73e421e0ced09f457090ac27b741b92515a1f8d22b918d0d2242170d38d3bda329fba8391f5fc6532a3e7fbb0d416e74b74ad643da3c1307881b467ae84f2af26df8b24dfacc22bd0860b9f2137aa878c4c93e2580acd77201426f4080d1d92830653d3c7d26f2634af7508bf6f3d38737743771de09a437d5eacf5811770d847e5fdb5916c152643c909afa27facc79179225f332e3c35620dea2ebf103fc7a99d5d8be3266d58d6c7e830ff2b4e82f46eda91aec8be3952c2af9f6cda167fd5b0056a16f061bc17d4a1c3e5cece209c8eb378696091733221271961cc5b1b578df246d1226e47722570eb9b2442cd8419f52218e26aa54594ca314a24d9dd192297859f34123d7981cf1fa9c66d3115257d1da12c13ad795d4252961230121bbd144c29693b581ca5c62adab60a3603a70783e7532a5530b4441e84905bc2caa5891bd50d3ce035d59d39ecf8de5b5af5efadeae7dbc762d102811fb9fdb17840e7fc98c9468dc163e4e8425fec7a38918694aff1dc7cbb398a6a11d15014fb007941f9718525295b69116ea310fbe55e884e953aa6563e267edd88b631254a8bd680f815bac6d6192bcd1b77a863e202f92ac4d9f3dc80a401be772e96d10d17f72f3bbaf8c0b28cd33739c5ecec71d4be61d29e79d54f9bc24e50d1f1d521d74d81b1fc8998fa31efe452c0163c4e3518e8fb6c98b5d520efcc8263d1385a3ff66cd46e4976db0ce076f9b679ce9b8a998166d560ccedf6de676a7e604d7bfd784651f6cc2cd4907f7d09419dd1b72dc98e3785fa8d09c7502b816ffbdc9badbf63f3b57ad2e063ace378cbd4e4144ab31b2d21e51f1459b080775cc0379482fc32debeabd8dc8f54cdd41ecfbee4725eb7763b996eb60c10a1a1dfff38f89c5be6e413df0c730de0254999cf792a5ce2dd631a25c25c0d8cc02e1ae1737a29987b2498ff9308318346e09bd58ec7c9e455fc152866a1c9dc99a4d8ffa65812c4b46387722e5251dce6498d3fdee9144daa5ff23b448fafd89f41321e296500ecd46c145726652162e9d312fdc1ed3ffb461c6a29d71c22d859b07c6c9a08c08e859dc4d43e103cb3cc2915086ae4d10b5f8df15e7908cdb2b60222728016d27fa5ff0d9e0d84a7c8c564372efa09eccfda9a5a4fa082b1a51edebe0ea7f658ed162985eb5fa01fde0a929756f37d12bfa4b9143b795b1f9b9565182374aa55665469973f6825c47de306b8afc81dd4a052221f71d014647cd6d799aea4a9041f647c980e188d842ec81988fe6be1231ac879cbd70e6d41fc706d0cd3d114bded3e9b9d143aa0e574ee747794b4c891bed5977f2ff812130d31c87e65569f7b129ca145ba4255b6e80d674e8bdd14716197f651312aae117bb553e0f8b25e6fb6f802eafd2ab08593c24ab621b516e7897f3a14b594050a705360581d982e9106a331381a603a34944bba5c1893cfa2ba322ee6cfd14506006caad1975051fe41cde369c023883076804f0fa0a27c24385ee56ffbd847b0c45b4a9dea497d8783	2026-12-04 21:56:08.715168+00
\.


--
-- Data for Name: request_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.request_events (id, request_id, at, actor, event, message, detail) FROM stdin;
1	1	2026-12-04 21:56:07.902563+00	cli:root	created	new request for intranet (private-ca)	{}
2	1	2026-12-04 21:56:07.912699+00	cli:root	key-and-csr	generated EC P-256 key #3 and CSR	{"from": "draft"}
3	1	2026-12-04 21:56:08.057795+00	cli:root	received	certificate received: serial 6be00b13ddcaf012205ab53792be884092452359, expires 2027-06-22, SHA-256 db09522fab46336cc710292c3e531bd991f45eb0e772a28bffb792d1be9eca84	{"from": "key-and-csr", "certificate": 5}
4	1	2026-12-04 21:56:08.058032+00	cli:root	current-switched	certificate #5 is now current	{"from": "received"}
5	1	2026-12-04 21:56:08.058148+00	cli:root	done	done	{"from": "current-switched"}
6	2	2026-12-04 21:56:08.731322+00	cli:root	created	new request for mail (private-ca)	{}
7	2	2026-12-04 21:56:08.738605+00	cli:root	key-and-csr	generated RSA 2048 key #4 and CSR	{"from": "draft"}
8	2	2026-12-04 21:56:08.835031+00	cli:root	received	certificate received: serial 5fae7be8368402c24c7eb7315bc7eae3e6feeea6, expires 2027-06-22, SHA-256 1c6fcc7c5ea347e693c1c3a91843ba1cbb6bee983fc809e08d3f7fc9ac18904b	{"from": "key-and-csr", "certificate": 6}
9	2	2026-12-04 21:56:08.835172+00	cli:root	current-switched	certificate #6 is now current	{"from": "received"}
10	2	2026-12-04 21:56:08.835234+00	cli:root	done	done	{"from": "current-switched"}
\.


--
-- Data for Name: revocations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.revocations (id, ca_id, serial_hex, certificate_id, reason, revoked_at, revoked_by) FROM stdin;
\.


--
-- Data for Name: sent_emails; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.sent_emails (id, at, kind, "to", subject, body, result, error, entity_type, entity_id, attempts) FROM stdin;
\.


--
-- Data for Name: settings; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.settings (key, value, sealed, updated_at, updated_by) FROM stdin;
metrics	{}	\\x434d31096b6563323164383132b9ef6d9a347abd4a53200bc9d92b88b96b4eeacb2635420198ff1f97e3a737503e51df1366c062baa7248798b24c6c3c885b6158d36a606573ab3e05087ec26cc06ddc2e395656934ae306	2026-12-04 21:56:07.050544+00	certmgr
controller-signing-key	{"key_id": "ae166a875d920d733c67934a382c9e96", "public_key": "PhtpNgIaY6yTvT9ePZgFD8k7iqoRZfxbvLuDP9y16sY=", "rotations": []}	\\x434d31096b6563323164383132457a0fff5efc778c042806e3fdd9e862669b6d1fd5e8512b976a839f0a270a6c2fc07576c69efa2841ea14dca2777b3366e498c5e3135fa24fe09a50	2026-12-04 21:56:10.510963+00	system
\.


--
-- Data for Name: sign_in_throttle; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.sign_in_throttle (id, address, username, failures, last_failure_at) FROM stdin;
\.


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.users (id, username, email, role, password_hash, must_change_password, disabled, created_at, password_changed_at, last_login_at) FROM stdin;
1	admin		admin	$argon2id$v=19$m=65536,t=3,p=4$SuwXpduyNNsiO3a9X28z9Q$cClABycJy+Y/CC5v6wvGTX82qaa77bSqrsdrXS2aR28	f	f	2026-12-04 21:56:07.028847+00	2026-12-04 21:56:07.028847+00	\N
2	operator		user	$argon2id$v=19$m=65536,t=3,p=4$hmvbSUq+p3rbx082scv6jA$KEK8yTbHr7SjYzzIvZbt5olD4mzCEb2mfmJgKYQD43I	t	f	2026-12-04 21:56:09.927828+00	2026-12-04 21:56:09.927828+00	\N
\.


--
-- Data for Name: vendor_accounts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.vendor_accounts (id, name, vendors, login_name, sealed_password, registered_email, notes, created_at) FROM stdin;
\.


--
-- Data for Name: webhooks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhooks (id, url, sealed_secret, events, enabled, created_at) FROM stdin;
\.


--
-- Name: access_refusals_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.access_refusals_id_seq', 1, false);


--
-- Name: acme_accounts_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.acme_accounts_id_seq', 1, false);


--
-- Name: agent_work_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.agent_work_id_seq', 1, false);


--
-- Name: agents_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.agents_id_seq', 1, false);


--
-- Name: api_tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.api_tokens_id_seq', 1, false);


--
-- Name: audit_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.audit_events_id_seq', 30, true);


--
-- Name: certificate_authorities_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificate_authorities_id_seq', 1, true);


--
-- Name: certificate_definitions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificate_definitions_id_seq', 4, true);


--
-- Name: certificate_requests_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificate_requests_id_seq', 2, true);


--
-- Name: certificates_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificates_id_seq', 6, true);


--
-- Name: check_challenges_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.check_challenges_id_seq', 1, false);


--
-- Name: check_results_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.check_results_id_seq', 1, false);


--
-- Name: console_sessions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.console_sessions_id_seq', 1, false);


--
-- Name: deployment_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deployment_events_id_seq', 1, true);


--
-- Name: deployments_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deployments_id_seq', 1, true);


--
-- Name: documents_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.documents_id_seq', 1, true);


--
-- Name: download_links_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.download_links_id_seq', 1, false);


--
-- Name: enrollment_tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.enrollment_tokens_id_seq', 1, true);


--
-- Name: findings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.findings_id_seq', 1, false);


--
-- Name: outbox_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.outbox_id_seq', 1, false);


--
-- Name: private_keys_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.private_keys_id_seq', 4, true);


--
-- Name: request_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.request_events_id_seq', 10, true);


--
-- Name: revocations_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.revocations_id_seq', 1, false);


--
-- Name: sent_emails_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sent_emails_id_seq', 1, false);


--
-- Name: sign_in_throttle_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sign_in_throttle_id_seq', 1, false);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 2, true);


--
-- Name: vendor_accounts_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.vendor_accounts_id_seq', 1, false);


--
-- Name: webhooks_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhooks_id_seq', 1, false);


--
-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);


--
-- Name: access_refusals pk_access_refusals; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_refusals
    ADD CONSTRAINT pk_access_refusals PRIMARY KEY (id);


--
-- Name: acme_accounts pk_acme_accounts; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_accounts
    ADD CONSTRAINT pk_acme_accounts PRIMARY KEY (id);


--
-- Name: acme_challenges pk_acme_challenges; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_challenges
    ADD CONSTRAINT pk_acme_challenges PRIMARY KEY (token);


--
-- Name: agent_nonces pk_agent_nonces; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_nonces
    ADD CONSTRAINT pk_agent_nonces PRIMARY KEY (agent_id, nonce);


--
-- Name: agent_work pk_agent_work; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT pk_agent_work PRIMARY KEY (id);


--
-- Name: agents pk_agents; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT pk_agents PRIMARY KEY (id);


--
-- Name: api_tokens pk_api_tokens; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT pk_api_tokens PRIMARY KEY (id);


--
-- Name: audit_events pk_audit_events; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT pk_audit_events PRIMARY KEY (id);


--
-- Name: certificate_authorities pk_certificate_authorities; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_authorities
    ADD CONSTRAINT pk_certificate_authorities PRIMARY KEY (id);


--
-- Name: certificate_chain pk_certificate_chain; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_chain
    ADD CONSTRAINT pk_certificate_chain PRIMARY KEY (certificate_id, "position");


--
-- Name: certificate_definitions pk_certificate_definitions; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions
    ADD CONSTRAINT pk_certificate_definitions PRIMARY KEY (id);


--
-- Name: certificate_requests pk_certificate_requests; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT pk_certificate_requests PRIMARY KEY (id);


--
-- Name: certificates pk_certificates; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT pk_certificates PRIMARY KEY (id);


--
-- Name: check_challenges pk_check_challenges; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges
    ADD CONSTRAINT pk_check_challenges PRIMARY KEY (id);


--
-- Name: check_results pk_check_results; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_results
    ADD CONSTRAINT pk_check_results PRIMARY KEY (id);


--
-- Name: console_sessions pk_console_sessions; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT pk_console_sessions PRIMARY KEY (id);


--
-- Name: deployment_events pk_deployment_events; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployment_events
    ADD CONSTRAINT pk_deployment_events PRIMARY KEY (id);


--
-- Name: deployments pk_deployments; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments
    ADD CONSTRAINT pk_deployments PRIMARY KEY (id);


--
-- Name: documents pk_documents; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT pk_documents PRIMARY KEY (id);


--
-- Name: download_links pk_download_links; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT pk_download_links PRIMARY KEY (id);


--
-- Name: enrollment_tokens pk_enrollment_tokens; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens
    ADD CONSTRAINT pk_enrollment_tokens PRIMARY KEY (id);


--
-- Name: findings pk_findings; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT pk_findings PRIMARY KEY (id);


--
-- Name: job_leases pk_job_leases; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_leases
    ADD CONSTRAINT pk_job_leases PRIMARY KEY (name);


--
-- Name: outbox pk_outbox; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT pk_outbox PRIMARY KEY (id);


--
-- Name: private_keys pk_private_keys; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.private_keys
    ADD CONSTRAINT pk_private_keys PRIMARY KEY (id);


--
-- Name: request_events pk_request_events; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_events
    ADD CONSTRAINT pk_request_events PRIMARY KEY (id);


--
-- Name: revocations pk_revocations; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT pk_revocations PRIMARY KEY (id);


--
-- Name: sent_emails pk_sent_emails; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sent_emails
    ADD CONSTRAINT pk_sent_emails PRIMARY KEY (id);


--
-- Name: settings pk_settings; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settings
    ADD CONSTRAINT pk_settings PRIMARY KEY (key);


--
-- Name: sign_in_throttle pk_sign_in_throttle; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_throttle
    ADD CONSTRAINT pk_sign_in_throttle PRIMARY KEY (id);


--
-- Name: users pk_users; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT pk_users PRIMARY KEY (id);


--
-- Name: vendor_accounts pk_vendor_accounts; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vendor_accounts
    ADD CONSTRAINT pk_vendor_accounts PRIMARY KEY (id);


--
-- Name: webhooks pk_webhooks; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT pk_webhooks PRIMARY KEY (id);


--
-- Name: access_refusals uq_access_refusals_source; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_refusals
    ADD CONSTRAINT uq_access_refusals_source UNIQUE (source, minute);


--
-- Name: acme_accounts uq_acme_accounts_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_accounts
    ADD CONSTRAINT uq_acme_accounts_name UNIQUE (name);


--
-- Name: api_tokens uq_api_tokens_token_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT uq_api_tokens_token_sha256 UNIQUE (token_sha256);


--
-- Name: certificate_definitions uq_certificate_definitions_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions
    ADD CONSTRAINT uq_certificate_definitions_name UNIQUE (name);


--
-- Name: certificates uq_certificates_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT uq_certificates_sha256 UNIQUE (sha256);


--
-- Name: check_challenges uq_check_challenges_nonce; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges
    ADD CONSTRAINT uq_check_challenges_nonce UNIQUE (nonce);


--
-- Name: console_sessions uq_console_sessions_id_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT uq_console_sessions_id_sha256 UNIQUE (id_sha256);


--
-- Name: documents uq_documents_stored_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT uq_documents_stored_name UNIQUE (stored_name);


--
-- Name: download_links uq_download_links_token_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT uq_download_links_token_sha256 UNIQUE (token_sha256);


--
-- Name: enrollment_tokens uq_enrollment_tokens_secret_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens
    ADD CONSTRAINT uq_enrollment_tokens_secret_sha256 UNIQUE (secret_sha256);


--
-- Name: private_keys uq_private_keys_public_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.private_keys
    ADD CONSTRAINT uq_private_keys_public_sha256 UNIQUE (public_sha256);


--
-- Name: revocations uq_revocations_ca_id; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT uq_revocations_ca_id UNIQUE (ca_id, serial_hex);


--
-- Name: sign_in_throttle uq_sign_in_throttle_address; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_throttle
    ADD CONSTRAINT uq_sign_in_throttle_address UNIQUE (address, username);


--
-- Name: users uq_users_username; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT uq_users_username UNIQUE (username);


--
-- Name: vendor_accounts uq_vendor_accounts_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vendor_accounts
    ADD CONSTRAINT uq_vendor_accounts_name UNIQUE (name);


--
-- Name: ix_access_refusals_minute; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_access_refusals_minute ON public.access_refusals USING btree (minute);


--
-- Name: ix_agent_nonces_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_agent_nonces_at ON public.agent_nonces USING btree (at);


--
-- Name: ix_agent_work_agent_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_agent_work_agent_id ON public.agent_work USING btree (agent_id);


--
-- Name: ix_agent_work_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_agent_work_state ON public.agent_work USING btree (state);


--
-- Name: ix_api_tokens_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_api_tokens_user_id ON public.api_tokens USING btree (user_id);


--
-- Name: ix_audit_events_action; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_events_action ON public.audit_events USING btree (action);


--
-- Name: ix_audit_events_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_events_at ON public.audit_events USING btree (at);


--
-- Name: ix_audit_events_entity; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_events_entity ON public.audit_events USING btree (entity_type, entity_id);


--
-- Name: ix_certificate_chain_ca_certificate_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificate_chain_ca_certificate_id ON public.certificate_chain USING btree (ca_certificate_id);


--
-- Name: ix_certificate_requests_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificate_requests_definition_id ON public.certificate_requests USING btree (definition_id);


--
-- Name: ix_certificate_requests_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificate_requests_status ON public.certificate_requests USING btree (status);


--
-- Name: ix_certificates_common_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_common_name ON public.certificates USING btree (common_name);


--
-- Name: ix_certificates_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_definition_id ON public.certificates USING btree (definition_id);


--
-- Name: ix_certificates_not_after; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_not_after ON public.certificates USING btree (not_after);


--
-- Name: ix_certificates_private_key_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_private_key_id ON public.certificates USING btree (private_key_id);


--
-- Name: ix_certificates_public_key_sha256; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_public_key_sha256 ON public.certificates USING btree (public_key_sha256);


--
-- Name: ix_certificates_serial_hex; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_serial_hex ON public.certificates USING btree (serial_hex);


--
-- Name: ix_check_challenges_deployment_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_check_challenges_deployment_id ON public.check_challenges USING btree (deployment_id);


--
-- Name: ix_check_results_dep_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_check_results_dep_at ON public.check_results USING btree (deployment_id, at);


--
-- Name: ix_console_sessions_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_console_sessions_user_id ON public.console_sessions USING btree (user_id);


--
-- Name: ix_deployment_events_deployment_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployment_events_deployment_id ON public.deployment_events USING btree (deployment_id);


--
-- Name: ix_deployments_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployments_definition_id ON public.deployments USING btree (definition_id);


--
-- Name: ix_deployments_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployments_status ON public.deployments USING btree (status);


--
-- Name: ix_documents_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_documents_definition_id ON public.documents USING btree (definition_id);


--
-- Name: ix_findings_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_definition_id ON public.findings USING btree (definition_id);


--
-- Name: ix_findings_deployment_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_deployment_id ON public.findings USING btree (deployment_id);


--
-- Name: ix_findings_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_key ON public.findings USING btree (key);


--
-- Name: ix_findings_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_open ON public.findings USING btree (state, kind);


--
-- Name: ix_outbox_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_outbox_state ON public.outbox USING btree (state);


--
-- Name: ix_request_events_request_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_request_events_request_id ON public.request_events USING btree (request_id);


--
-- Name: ix_revocations_ca_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_revocations_ca_id ON public.revocations USING btree (ca_id);


--
-- Name: ix_sent_emails_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_sent_emails_at ON public.sent_emails USING btree (at);


--
-- Name: ix_sign_in_throttle_last_failure_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_sign_in_throttle_last_failure_at ON public.sign_in_throttle USING btree (last_failure_at);


--
-- Name: agent_nonces fk_agent_nonces_agent_id_agents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_nonces
    ADD CONSTRAINT fk_agent_nonces_agent_id_agents FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;


--
-- Name: agent_work fk_agent_work_agent_id_agents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT fk_agent_work_agent_id_agents FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;


--
-- Name: agent_work fk_agent_work_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT fk_agent_work_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: agent_work fk_agent_work_request_id_certificate_requests; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT fk_agent_work_request_id_certificate_requests FOREIGN KEY (request_id) REFERENCES public.certificate_requests(id) ON DELETE CASCADE;


--
-- Name: api_tokens fk_api_tokens_user_id_users; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT fk_api_tokens_user_id_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: certificate_authorities fk_certificate_authorities_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_authorities
    ADD CONSTRAINT fk_certificate_authorities_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificate_chain fk_certificate_chain_ca_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_chain
    ADD CONSTRAINT fk_certificate_chain_ca_certificate_id_certificates FOREIGN KEY (ca_certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificate_chain fk_certificate_chain_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_chain
    ADD CONSTRAINT fk_certificate_chain_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id) ON DELETE CASCADE;


--
-- Name: certificate_definitions fk_certificate_definitions_current_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions
    ADD CONSTRAINT fk_certificate_definitions_current_certificate_id_certificates FOREIGN KEY (current_certificate_id) REFERENCES public.certificates(id) ON DELETE SET NULL;


--
-- Name: certificate_requests fk_certificate_requests_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificate_requests fk_certificate_requests_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: certificate_requests fk_certificate_requests_private_key_id_private_keys; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_private_key_id_private_keys FOREIGN KEY (private_key_id) REFERENCES public.private_keys(id);


--
-- Name: certificate_requests fk_certificate_requests_replaces_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_replaces_certificate_id_certificates FOREIGN KEY (replaces_certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificates fk_certificates_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT fk_certificates_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE SET NULL;


--
-- Name: certificates fk_certificates_private_key_id_private_keys; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT fk_certificates_private_key_id_private_keys FOREIGN KEY (private_key_id) REFERENCES public.private_keys(id);


--
-- Name: check_challenges fk_check_challenges_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges
    ADD CONSTRAINT fk_check_challenges_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: check_results fk_check_results_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_results
    ADD CONSTRAINT fk_check_results_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: console_sessions fk_console_sessions_user_id_users; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT fk_console_sessions_user_id_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: deployment_events fk_deployment_events_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployment_events
    ADD CONSTRAINT fk_deployment_events_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: deployments fk_deployments_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments
    ADD CONSTRAINT fk_deployments_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- Name: deployments fk_deployments_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments
    ADD CONSTRAINT fk_deployments_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: documents fk_documents_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT fk_documents_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: download_links fk_download_links_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT fk_download_links_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: download_links fk_download_links_document_id_documents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT fk_download_links_document_id_documents FOREIGN KEY (document_id) REFERENCES public.documents(id) ON DELETE CASCADE;


--
-- Name: enrollment_tokens fk_enrollment_tokens_agent_id_agents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens
    ADD CONSTRAINT fk_enrollment_tokens_agent_id_agents FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE SET NULL;


--
-- Name: findings fk_findings_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT fk_findings_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: findings fk_findings_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT fk_findings_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: outbox fk_outbox_sent_email_id_sent_emails; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT fk_outbox_sent_email_id_sent_emails FOREIGN KEY (sent_email_id) REFERENCES public.sent_emails(id) ON DELETE SET NULL;


--
-- Name: request_events fk_request_events_request_id_certificate_requests; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_events
    ADD CONSTRAINT fk_request_events_request_id_certificate_requests FOREIGN KEY (request_id) REFERENCES public.certificate_requests(id) ON DELETE CASCADE;


--
-- Name: revocations fk_revocations_ca_id_certificate_authorities; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT fk_revocations_ca_id_certificate_authorities FOREIGN KEY (ca_id) REFERENCES public.certificate_authorities(id);


--
-- Name: revocations fk_revocations_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT fk_revocations_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- PostgreSQL database dump complete
--

\unrestrict U54UImRrBBfP9xizXx6tuv1hH502qvlanrHMVwc14gxsLwuQBhEpDm9gyO2nyaZ

