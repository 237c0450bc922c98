Gem::Specification.new do |s|
  s.name = 'vuln-lib'
  s.version = '1.0.0'
  s.summary = 'test gem vuln-lib'
  s.authors = ['backline']
  s.files = ['lib/vuln-lib.rb']
  s.license = 'MIT'
  s.add_runtime_dependency 'helper-lib', '>= 2.0'
  s.add_development_dependency 'minitest', '~> 5.0'
end
