/**
 * COPY … TO STDOUT as a stream of text chunks (pg-copy-streams), for the readers of source tables
 * and verify's digests. COPY … FROM STDIN is the sink's own (src/sink/copy-into.ts).
 */
export { to as copyTo } from 'pg-copy-streams';
