# frozen_string_literal: true

# Reading the real host for the planner: users (passwd + shadow), groups, and files (lstat:
# a symlink is reported, never followed). Lazy and memoized: only what the planner asks for
# is read. Plain Ruby (etc), no Chef.

require 'etc'

module UserSetup
  # Classifies an /etc/shadow password field (see UserState#password).
  module Passwords
    module_function

    def status(field)
      return nil if field.nil?
      return :usable if field.empty?

      if field.start_with?('!')
        rest = field[1..]
        return :none if rest.empty? || rest.start_with?('!', '*')

        return :locked
      end
      return :none if field.start_with?('*')

      :usable
    end
  end

  # Lazy readers of the real host, one per HostState field.
  module Live
    # HostState over the real host. shadow: path of the shadow file (tests pass another).
    def self.state(shadow: '/etc/shadow')
      HostState.new(users: Users.new(shadow), groups: Groups.new, files: Files.new)
    end

    # name -> UserState or nil.
    class Users
      def initialize(shadow)
        @shadow = shadow
        @cache = {}
      end

      def [](name)
        return @cache[name] if @cache.key?(name)

        @cache[name] = read(name)
      end

      private

      def read(name)
        pw = Etc.getpwnam(name)
        UserState.new(uid: pw.uid, gid: pw.gid, home: pw.dir, shell: pw.shell,
                      comment: pw.gecos, password: Passwords.status(shadow_fields[name]),
                      home_exists: File.directory?(pw.dir))
      rescue ArgumentError
        nil
      end

      # name -> password field; empty when the file cannot be read (statuses are then nil).
      def shadow_fields
        @shadow_fields ||= begin
          File.readlines(@shadow, chomp: true).each_with_object({}) do |line, out|
            name, field = line.split(':', 3)
            out[name] = field if name && field
          end
        rescue SystemCallError
          {}
        end
      end
    end

    # name -> GroupState or nil.
    class Groups
      def initialize
        @cache = {}
      end

      def [](name)
        return @cache[name] if @cache.key?(name)

        @cache[name] = begin
          gr = Etc.getgrnam(name)
          GroupState.new(gid: gr.gid, members: gr.mem.dup)
        rescue ArgumentError
          nil
        end
      end
    end

    # path -> FileState or nil.
    class Files
      # Larger authorized_keys files are read up to this size: their content then differs
      # from any plan's, so they are rewritten.
      MAX_READ = 1 << 20

      def initialize
        @cache = {}
      end

      def [](path)
        return @cache[path] if @cache.key?(path)

        @cache[path] = read(path)
      end

      private

      def read(path)
        st = File.lstat(path)
        kind = if st.symlink? then :symlink
               elsif st.directory? then :directory
               elsif st.file? then :file
               else :other
               end
        content = kind == :file ? File.read(path, MAX_READ) || '' : nil
        FileState.new(kind: kind, content: content, mode: st.mode & 0o7777, owner: owner_name(st.uid))
      rescue Errno::ENOENT, Errno::ENOTDIR
        nil
      end

      def owner_name(uid)
        Etc.getpwuid(uid).name
      rescue ArgumentError
        uid.to_s
      end
    end
  end
end
